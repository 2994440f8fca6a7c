import { sql, type Insertable, type Kysely } from 'kysely'
import { BaseRepository, type KeyColumns, type Page } from 'fastkit'
import type { DB, Message, MessagesTable } from '../db/schema.js'

export class MessageRepository extends BaseRepository<DB, 'messages'> {
  readonly table = 'messages'
  protected override readonly keys = { id: 'uuid', createdAt: 'timestamp' } satisfies KeyColumns<Message>

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
   * A page of a chat's messages, newest first; with `after` (a message id), oldest first from the
   * message after that one on (catch-up after a reconnect: the cursor carries the position, so the
   * anchor may be deleted while a client pages), or `undefined` when it is not a message of this chat.
   * The `(chat_id, created_at, id)` index serves every page as a range scan, so page 1,000 costs what
   * page 1 does.
   */
  inChat(chatId: string, page: { after?: string; limit: number; cursor?: string }): Promise<Page<Message> | undefined> {
    const { after, limit, cursor } = page
    return after
      ? this.findMany({ where: { chatId }, sort: ['createdAt'], after: { id: after }, limit, cursor })
      : this.findMany({ where: { chatId }, sort: ['-createdAt'], limit, cursor })
  }
}
