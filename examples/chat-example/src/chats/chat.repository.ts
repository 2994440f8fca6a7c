import { BaseRepository, type KeyColumns } from 'fastkit'
import type { Chat, DB } from '../db/schema.js'
import { isChatMember } from './membership.js'

export class ChatRepository extends BaseRepository<DB, 'chats'> {
  readonly table = 'chats'
  /** The list's sort keys (ChatRouter): never NULL, so a page continues with a row comparison. */
  protected override readonly keys = { id: 'uuid', createdAt: 'timestamp', updatedAt: 'timestamp', name: 'text' } satisfies KeyColumns<Chat>

  /**
   * The chat, if `userId` is a member, locked until the transaction ends. Posting to a chat takes
   * this lock, so messages of one chat commit (and are delivered) one after another.
   */
  lockForMember(chatId: string, userId: string): Promise<Chat | undefined> {
    return this.db
      .selectFrom('chats')
      .selectAll('chats')
      .where('chats.id', '=', chatId)
      .where((eb) => isChatMember(eb, 'chats.id', userId))
      .forUpdate()
      .executeTakeFirst()
  }
}
