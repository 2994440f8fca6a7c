import { sql, type Kysely } from 'kysely'
import { up as createMessageClocks } from './0005_chat_message_clocks.js'

// A chat's messages are ordered by `(tx, created_at, id)`, where `tx` is the id of the transaction that
// wrote the message, instead of by a `created_at` stamped under the chat's lock (0005), which
// serialized every commit of a chat. A reader that must never skip a message that commits late (a
// catch-up) reads only rows whose `tx` is older than every running transaction (fastkit's `settled`):
// whatever commits later has a `tx` at least that high, so it sorts after everything already read.
// Messages stored before this migration get tx 0: they keep their order (by created_at) and sort
// before every new message. Adding the column with a constant default rewrites no rows.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('messages')
    .addColumn('tx', sql`xid8`, (c) => c.notNull().defaultTo(sql`'0'`))
    .execute()
  await db.schema
    .alterTable('messages')
    .alterColumn('tx', (c) => c.setDefault(sql`pg_current_xact_id()`))
    .execute()
  // Every page of a chat's messages, newest first or oldest first, as a range scan.
  await db.schema.dropIndex('messages_chat_created').execute()
  await db.schema.createIndex('messages_chat_tx').on('messages').columns(['chat_id', 'tx', 'created_at', 'id']).execute()
  // The whole table in that order, for a feed that follows every chat at once.
  await db.schema.createIndex('messages_tx').on('messages').columns(['tx', 'created_at', 'id']).execute()
  await db.schema.dropTable('chat_message_clocks').execute()
}

// Back to 0005's order: each chat's clock restarts at its latest `created_at` (later posts are stamped
// after it). Messages posted concurrently since `up` may then list in `created_at` order, which can
// differ from their `tx` order by a few microseconds.
export async function down(db: Kysely<any>): Promise<void> {
  // 0005's own up: the clock table, filled with each chat's latest created_at.
  await createMessageClocks(db)
  await db.schema.dropIndex('messages_tx').execute()
  await db.schema.dropIndex('messages_chat_tx').execute()
  await db.schema.createIndex('messages_chat_created').on('messages').columns(['chat_id', 'created_at', 'id']).execute()
  await db.schema.alterTable('messages').dropColumn('tx').execute()
}
