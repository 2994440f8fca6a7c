import { sql, type Kysely } from 'kysely'
import { createRefreshTokensTable } from 'fastkit'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('username', 'text', (c) => c.notNull().check(sql`char_length(username) between 3 and 32`))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // Unique case-insensitively; also serves prefix search on lower(username).
  await sql`create unique index users_username_lower on users (lower(username) text_pattern_ops)`.execute(db)
  await createRefreshTokensTable(db, { references: 'users.id' })
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('refresh_tokens').execute()
  await db.schema.dropTable('users').execute()
}
