import { sql, type Insertable, type RawBuilder } from 'kysely'
import { BaseRepository, NotFoundError, type KeyColumns, type Page } from 'fastkit'
import type { DB, Message, MessagesTable } from '../db/schema.js'

export class MessageRepository extends BaseRepository<DB, 'messages'> {
  readonly table = 'messages'
  protected override readonly keys = { id: 'uuid', createdAt: 'timestamp' } satisfies KeyColumns<Message>

  /**
   * Posts a message, in ONE statement: if the sender is a member of the chat, it takes the chat's write
   * lock (its row in `chat_message_clocks`, held until the transaction ends), stamps the message later
   * than every earlier message of the chat, and inserts it. A sender who is not a member (or a chat that
   * does not exist) gets {@link NotFoundError} and nothing is written. `BaseService`'s generated create
   * calls this, so `MessageService` posts through its create hooks.
   *
   * The lock is held until COMMIT, so `created_at` orders a chat's messages exactly as they commit, and
   * a catch-up (`after`) anchored on any message never skips one that commits later. The stamp is
   * `greatest(clock_timestamp(), previous + 1 µs)`: PGlite's clock ticks in milliseconds, and two posts
   * in one millisecond must not tie. The previous stamp comes from the locked row itself (not from a
   * `max(created_at)` over the messages, which a statement that waited for the lock would read from
   * its stale snapshot), so nothing else need be locked or read first: one round trip.
   */
  override async create(values: Insertable<MessagesTable>): Promise<Message> {
    const { chatId, senderId, text } = values
    const { rows } = await sql<Message>`
      with clock as (${stampUnderLock(chatId, senderId)})
      insert into messages (chat_id, sender_id, text, created_at, updated_at)
      select ${chatId}::uuid, ${senderId}::uuid, ${text}::text, at, at from clock
      returning *`.execute(this.db)
    const message = rows[0]
    if (!message) throw new NotFoundError('Chat not found')
    return message
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

/**
 * Upserts the chat's clock row (locking it until the transaction ends) to the next stamp, returned as
 * `at`, if the chat exists and `senderId` is one of its members. ON CONFLICT DO UPDATE works
 * on the latest committed version of the row, so a post that waited for the lock still stamps after
 * the one it waited for. The chat's row is locked FOR KEY SHARE first (as the message's foreign key
 * would at the end of the statement, but before the clock): a chat being deleted makes the post wait
 * and find no chat, instead of a deadlock between the delete's cascade and the post.
 */
function stampUnderLock(chatId: string, senderId: string): RawBuilder<Date> {
  return sql`
    insert into chat_message_clocks as c (chat_id, last_created_at)
    select id, clock_timestamp() from (
      select id from chats
      where id = ${chatId} and exists (select 1 from chat_members where chat_id = ${chatId} and user_id = ${senderId})
      for key share
    ) as chat
    on conflict (chat_id) do update set last_created_at = greatest(clock_timestamp(), c.last_created_at + interval '1 microsecond')
    returning last_created_at as at`
}
