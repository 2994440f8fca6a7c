import { BaseRepository } from 'fastkit'
import type { Chat, DB } from '../db/schema.js'

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
      .where((eb) =>
        eb.exists(eb.selectFrom('chatMembers').select('chatMembers.id').whereRef('chatMembers.chatId', '=', 'chats.id').where('chatMembers.userId', '=', userId)),
      )
      .forUpdate()
      .executeTakeFirst()
  }
}
