import { sql, type Insertable, type Kysely, type RawBuilder } from 'kysely'
import { BaseRepository, type Page } from 'fastkit'
import type { DB, Message, MessagesTable } from '../db/schema.js'

export class MessageRepository extends BaseRepository<DB, 'messages'> {
  readonly table = 'messages'

  /**
   * Posts `text` to the chat as `senderId`, in ONE statement: if the sender is a member, it takes the
   * chat's write lock (its row in `chat_message_clocks`, held until the transaction ends), stamps the
   * message later than every earlier message of the chat, inserts it, and reads the chat's members
   * (the event's recipients). `undefined` when the sender is not a member (or there is no such chat).
   *
   * The lock is held until COMMIT, so `created_at` orders a chat's messages exactly as they commit, and
   * a catch-up (`after`) anchored on any message never skips one that commits later. The stamp is
   * `greatest(clock_timestamp(), previous + 1 µs)`: PGlite's clock ticks in milliseconds, and two posts
   * in one millisecond must not tie. The previous stamp comes from the locked row itself (not from a
   * `max(created_at)` over the messages, which a statement that waited for the lock would read from
   * its stale snapshot), so nothing else need be locked or read first: one round trip.
   *
   * @example
   * ```ts
   * const posted = await messages.insertInOrder(chatId, user.id, 'hello')
   * if (!posted) throw new NotFoundError('Chat not found')
   * events.publish(posted.recipientIds.map(userTopic), { type: 'message.created', data: posted.message })
   * ```
   */
  async insertInOrder(chatId: string, senderId: string, text: string): Promise<PostedMessage | undefined> {
    const { rows } = await sql<Message & { recipientIds: string | null }>`
      with clock as (${stampUnderLock(chatId, sql`and exists (select 1 from chat_members where chat_id = ${chatId} and user_id = ${senderId})`)}),
      message as (
        insert into messages (chat_id, sender_id, text, created_at, updated_at)
        select ${chatId}::uuid, ${senderId}::uuid, ${text}::text, at, at from clock
        returning *
      )
      select message.*, (select string_agg(user_id::text, ',') from chat_members where chat_id = ${chatId}) as recipient_ids from message`.execute(this.db)
    const row = rows[0]
    if (!row) return undefined
    // One comma-separated string: parsing a text[] of a thousand members costs more than the insert.
    const { recipientIds, ...message } = row
    return { message, recipientIds: recipientIds ? recipientIds.split(',') : [] }
  }

  /**
   * Inserts a message stamped later than every earlier message of its chat (the path of today's
   * `MessageService.create`, which holds the chat's row lock, `ChatRepository.lockForMember`).
   * `clock_timestamp()` alone does not do it: PGlite's clock ticks in milliseconds, and two posts in
   * one millisecond would tie. Superseded by {@link insertInOrder} (one round trip instead of three);
   * delete it once the service posts with that, and never mix the two paths (they take different locks).
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

/** What {@link MessageRepository.insertInOrder} returns: the message and its chat's members. */
export interface PostedMessage {
  readonly message: Message
  /** The chat's members as the posting transaction sees them: the `message.created` recipients. */
  readonly recipientIds: string[]
}

/**
 * Upserts the chat's clock row (locking it until the transaction ends) to the next stamp, returned as
 * `at`, if the chat exists and `condition` (a `and …`, or nothing) holds. ON CONFLICT DO UPDATE works
 * on the latest committed version of the row, so a post that waited for the lock still stamps after
 * the one it waited for. The chat's row is locked FOR KEY SHARE first (as the message's foreign key
 * would at the end of the statement, but before the clock): a chat being deleted makes the post wait
 * and find no chat, instead of a deadlock between the delete's cascade and the post.
 */
function stampUnderLock(chatId: string, condition: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    insert into chat_message_clocks as c (chat_id, last_created_at)
    select id, clock_timestamp() from (select id from chats where id = ${chatId} ${condition} for key share) as chat
    on conflict (chat_id) do update set last_created_at = greatest(clock_timestamp(), c.last_created_at + interval '1 microsecond')
    returning last_created_at as at`
}
