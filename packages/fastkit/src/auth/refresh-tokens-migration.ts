import { sql, type ColumnType, type Kysely, type Migration } from 'kysely'

/**
 * The name of the table {@link KyselyRefreshTokenStore} uses.
 *
 * @example
 * ```ts
 * await db.deleteFrom(REFRESH_TOKENS_TABLE).where('expires_at', '<', new Date()).execute()
 * ```
 */
export const REFRESH_TOKENS_TABLE = 'refresh_tokens'

/**
 * The `refresh_tokens` table as a Kysely table type, for apps that add it to their `DB` interface.
 *
 * @example
 * ```ts
 * import type { Generated } from 'kysely'
 * interface DB {
 *   users: { id: Generated<string>; username: string }
 *   refresh_tokens: RefreshTokensTable
 * }
 * ```
 */
export interface RefreshTokensTable {
  id: string
  user_id: string
  family_id: string
  parent_id: string | null
  token_hash: string
  expires_at: Date
  used_at: Date | null
  replaced_by: string | null
  revoked_at: Date | null
  created_at: ColumnType<Date, Date | undefined, never>
}

/**
 * Options of {@link createRefreshTokensTable}: the type of `user_id` and its foreign key.
 *
 * @example
 * ```ts
 * await createRefreshTokensTable(db, { userIdType: 'uuid', references: 'users.id' })
 * ```
 */
export interface RefreshTokensTableOptions {
  /** Column type of `user_id`, matching your users' id. Default `uuid`. */
  readonly userIdType?: 'uuid' | 'text'
  /**
   * A foreign key for `user_id`, e.g. `users.id`; tokens are deleted with their user. Default: none
   * (fastkit does not know your users table).
   */
  readonly references?: string
}

/**
 * Creates the `refresh_tokens` table and its indexes. Call it from one of your migrations, or use
 * {@link refreshTokensMigration}.
 *
 * @example
 * ```ts
 * export async function up(db: Kysely<any>) {
 *   await createRefreshTokensTable(db, { references: 'users.id' })
 * }
 * ```
 */
export async function createRefreshTokensTable(db: Kysely<any>, options: RefreshTokensTableOptions = {}): Promise<void> {
  const userIdType = options.userIdType ?? 'uuid'
  await db.schema
    .createTable(REFRESH_TOKENS_TABLE)
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', userIdType, (c) => {
      const column = c.notNull()
      return options.references ? column.references(options.references).onDelete('cascade') : column
    })
    .addColumn('family_id', 'uuid', (c) => c.notNull())
    .addColumn('parent_id', 'uuid')
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('replaced_by', 'uuid')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('refresh_tokens_family_id_idx').on(REFRESH_TOKENS_TABLE).column('family_id').execute()
  await db.schema.createIndex('refresh_tokens_user_id_idx').on(REFRESH_TOKENS_TABLE).column('user_id').execute()
  await db.schema.createIndex('refresh_tokens_expires_at_idx').on(REFRESH_TOKENS_TABLE).column('expires_at').execute()
}

/**
 * Drops the `refresh_tokens` table (the `down` of {@link refreshTokensMigration}).
 *
 * @example
 * ```ts
 * export async function down(db: Kysely<any>) { await dropRefreshTokensTable(db) }
 * ```
 */
export async function dropRefreshTokensTable(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable(REFRESH_TOKENS_TABLE).ifExists().execute()
}

/**
 * A ready-made Kysely migration for the `refresh_tokens` table.
 *
 * @example
 * ```ts
 * import type { Migration } from 'kysely'
 * declare const appMigrations: Record<string, Migration> // { '0001_users': … }
 * await migrateToLatest(db, {
 *   migrations: { ...appMigrations, '0002_refresh_tokens': refreshTokensMigration({ references: 'users.id' }) },
 * })
 * // or, in a migrations folder: export const { up, down } = refreshTokensMigration({ references: 'users.id' })
 * ```
 */
export function refreshTokensMigration(options: RefreshTokensTableOptions = {}): Migration {
  return {
    up: (db) => createRefreshTokensTable(db, options),
    down: (db) => dropRefreshTokensTable(db),
  }
}
