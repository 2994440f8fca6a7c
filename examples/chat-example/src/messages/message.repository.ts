import { BaseRepository, type Page } from 'fastkit'
import type { DB, Message } from '../db/schema.js'

export class MessageRepository extends BaseRepository<DB, 'messages'> {
  readonly table = 'messages'

  /**
   * A page of a chat's messages, newest first. The `(chat_id, created_at, id)` index serves every page
   * as a range scan from the cursor, so page 1,000 costs what page 1 does.
   */
  newestFirst(chatId: string, limit: number, cursor?: string): Promise<Page<Message>> {
    return this.findMany({
      where: { chatId },
      sort: ['-createdAt'],
      limit,
      cursor: cursor ?? null,
      notNull: ['createdAt'],
    })
  }

  /** The messages of a chat after `afterId`, oldest first (catch-up after a reconnect). */
  async after(chatId: string, afterId: string, limit: number): Promise<Message[] | undefined> {
    const anchor = await this.findOne({ id: afterId, chatId })
    if (!anchor) return undefined
    return this.db
      .selectFrom('messages')
      .selectAll()
      .where('chatId', '=', chatId)
      .where((eb) => eb(eb.refTuple('createdAt', 'id'), '>', eb.tuple(anchor.createdAt, anchor.id)))
      .orderBy('createdAt', 'asc')
      .orderBy('id', 'asc')
      .limit(limit)
      .execute()
  }
}
