import { sql, type Insertable } from 'kysely'
import { BaseRepository, isDatabaseError, NotFoundError, PgErrorCode, settled, type KeyColumns, type Page } from 'fastkit'
import type { DB, Message, MessagesTable } from '../db/schema.js'

/** A chat's messages in their order, oldest first, and the reverse; the id breaks the last ties. */
const OLDEST_FIRST = ['tx', 'createdAt'] as const
const NEWEST_FIRST = ['-tx', '-createdAt'] as const
/** The foreign key from a message to its chat (PostgreSQL's default name). */
const CHAT_REFERENCE = 'messages_chat_id_fkey'

/**
 * A chat's messages. They are ordered by `(tx, createdAt, id)`: `tx` is the id of the transaction
 * that wrote the message (PostgreSQL assigns ids in the order transactions first write), then the
 * time of the insert, then the id for messages of one transaction stamped in the same microsecond
 * (PGlite's clock ticks in milliseconds). Posts to a chat take no lock, so they may commit in any
 * order: a message can commit after one that sorts after it. Lists read only settled messages
 * (fastkit's `settled`: no transaction that is still running can commit one that sorts before them),
 * so whatever commits later sorts after everything they returned, and a client catching up from the
 * last message it saw skips none.
 */
export class MessageRepository extends BaseRepository<DB, 'messages'> {
  readonly table = 'messages'
  // `tx` is an xid8: digits, within int8's range for any real cluster.
  protected override readonly keys = { id: 'uuid', tx: 'integer', createdAt: 'timestamp' } satisfies KeyColumns<Message>

  /**
   * Posts a message in one statement, if the sender is a member of the chat; a sender who is not (or
   * a chat that does not exist) gets {@link NotFoundError} and nothing is written. The message gets
   * its transaction's id as `tx` and one time, read right after, as `createdAt` and `updatedAt`: two
   * posts racing each other then rarely sort (by `tx`) in another order than their times say.
   * `BaseService`'s generated create calls this, so `MessageService` posts through its create hooks.
   *
   * A post racing the chat's deletion waits, in the message's foreign key check, for the deletion
   * to end; once it committed the check fails, and that is the same 404. Posts take no other lock,
   * so they do not wait for one another.
   */
  override async create(values: Insertable<MessagesTable>): Promise<Message> {
    const { chatId, senderId, text } = values
    const message = await sql<Message>`
      insert into messages (chat_id, sender_id, text, tx, created_at, updated_at)
      select ${chatId}::uuid, ${senderId}::uuid, ${text}::text, tx, at, at from (select pg_current_xact_id() as tx, clock_timestamp() as at) as now
      where exists (select 1 from chat_members where chat_id = ${chatId} and user_id = ${senderId})
      returning *`
      .execute(this.db)
      .then(
        ({ rows }) => rows[0],
        (error: unknown) => {
          if (isDatabaseError(error) && error.code === PgErrorCode.FOREIGN_KEY_VIOLATION && error.constraint === CHAT_REFERENCE) return undefined
          throw error
        },
      )
    if (!message) throw new NotFoundError('Chat not found')
    return message
  }

  /**
   * A page of a chat's settled messages, newest first; with `after` (a message id), oldest first from
   * the message after that one on (catch-up after a reconnect: the cursor carries the position, so the
   * anchor may be deleted while a client pages), or `undefined` when `after` is not a message of this
   * chat. Both list settled messages only, so any message a client has seen in a list is a safe
   * anchor: nothing that commits later can sort before it. The anchor itself need not be settled:
   * until it is, nothing settled sorts after it and the page is empty. The `(chat_id, tx, created_at,
   * id)` index serves every page as a range scan, so page 1,000 costs what page 1 does.
   */
  async inChat(chatId: string, page: { after?: string; limit: number; cursor?: string }): Promise<Page<Message> | undefined> {
    const { after, limit, cursor } = page
    const scope = { scope: () => settled('messages.tx') }
    if (!after) return this.findMany({ where: { chatId }, sort: NEWEST_FIRST, limit, cursor }, scope)
    // The anchor's position is read without the settled condition, which then applies to the page.
    const from = cursor ?? (await this.cursorAt(after, { where: { chatId }, sort: OLDEST_FIRST }))
    if (from === undefined) return undefined
    return this.findMany({ where: { chatId }, sort: OLDEST_FIRST, limit, cursor: from }, scope)
  }
}
