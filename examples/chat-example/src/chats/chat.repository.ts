import { BaseRepository } from 'fastkit'
import type { Chat, DB } from '../db/schema.js'
import { isChatMember } from './membership.js'

export class ChatRepository extends BaseRepository<DB, 'chats'> {
  readonly table = 'chats'

  /**
   * The chat, if `userId` is a member, its row locked until the transaction ends. Posting does not
   * need it: `MessageRepository.insertInOrder` checks membership and takes the chat's message lock
   * (its `chat_message_clocks` row) in the statement that inserts, which orders a chat's messages.
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
