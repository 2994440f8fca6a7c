import { BaseRepository } from 'fastkit'
import type { Chat, DB } from '../db/schema.js'
import { isChatMember } from './membership.js'

export class ChatRepository extends BaseRepository<DB, 'chats'> {
  readonly table = 'chats'

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
