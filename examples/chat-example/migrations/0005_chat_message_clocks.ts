import { sql, type Kysely } from 'kysely'

// Each chat's message clock: the `created_at` of its latest message. Posting to a chat upserts this
// row in the statement that inserts the message (MessageRepository.create), so one statement
// both takes the chat's write lock and stamps the message later than every earlier one: the row lock
// is held until COMMIT, hence `created_at` orders a chat's messages exactly as they committed. A row
// of its own (not a column of `chats`): chat rows and their events stay as they were, and updating a
// chat's name does not wait for its posts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('chat_message_clocks')
    .addColumn('chat_id', 'uuid', (c) => c.primaryKey().references('chats.id').onDelete('cascade'))
    .addColumn('last_created_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await sql`
    insert into chat_message_clocks (chat_id, last_created_at)
    select chat_id, max(created_at) from messages group by chat_id`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('chat_message_clocks').execute()
}
