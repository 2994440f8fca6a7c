import { sql, type Insertable, type Kysely } from 'kysely'
import { BaseRepository, type Page } from 'fastkit'
import type { DB, Message, MessagesTable } from '../db/schema.js'

export class MessageRepository extends BaseRepository<DB, 'messages'> {
  readonly table = 'messages'

  /**
   * Inserts a message stamped later than every earlier message of its chat, so that `created_at`
   * orders a chat's messages as they committed (callers hold the chat's row lock, see
   * `ChatRepository.lockForMember`). `clock_timestamp()` alone does not do it: PGlite's clock ticks
   * in milliseconds, and two posts in one millisecond would tie, sort by id, and a catch-up
   * (`after`) anchored on one of them could skip the other.
   */
  override create(values: Insertable<MessagesTable>): Promise<Message> {
    const stamp = sql<Date>`greatest(clock_timestamp(), (select max(m.created_at) + interval '1 microsecond' from messages as m where m.chat_id = ${values.chatId}))`
    // `createdAt` is not insertable in the table's type (the database stamps it): hence `any`.
    return (this.db as Kysely<any>)
      .insertInto('messages')
      .values({ ...values, createdAt: stamp, updatedAt: stamp })
      .returningAll()
      .executeTakeFirstOrThrow() as Promise<Message>
  }

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

  /**
   * A page of a chat's messages after `afterId`, oldest first (catch-up after a reconnect). The first
   * page starts at the anchor; later ones at `cursor` (the previous page's `nextCursor`), so the anchor
   * may be deleted while a client pages. `undefined` when the anchor is not a message of this chat.
   */
  async oldestFirstAfter(chatId: string, afterId: string, limit: number, cursor?: string): Promise<Page<Message> | undefined> {
    const sort = ['createdAt'] as const
    const start = cursor ?? (await this.cursorAt(afterId, { where: { chatId }, sort }))
    if (start === undefined) return undefined
    return this.findMany({ where: { chatId }, sort, limit, cursor: start, notNull: ['createdAt'] })
  }
}
