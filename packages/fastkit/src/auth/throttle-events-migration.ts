import type { Kysely, Migration } from 'kysely'

/**
 * The name of the table {@link KyselyThrottleStore} uses.
 *
 * @example
 * ```ts
 * await sql`delete from ${sql.table(THROTTLE_EVENTS_TABLE)}`.execute(db) // forget every throttle count
 * ```
 */
export const THROTTLE_EVENTS_TABLE = 'throttle_events'

/**
 * The `throttle_events` table as a Kysely table type, for apps that add it to their `DB` interface:
 * one row per counted attempt and key, with the time it leaves its window.
 *
 * @example
 * ```ts
 * import type { Generated } from 'kysely'
 * interface DB {
 *   users: { id: Generated<string>; username: string }
 *   throttle_events: ThrottleEventsTable
 * }
 * ```
 */
export interface ThrottleEventsTable {
  key: string
  id: string
  at: Date
  expires: Date
}

/**
 * Creates the `throttle_events` table and its index. Call it from one of your migrations, or use
 * {@link throttleEventsMigration}.
 *
 * @example
 * ```ts
 * export async function up(db: Kysely<any>) { await createThrottleEventsTable(db) }
 * ```
 */
export async function createThrottleEventsTable(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable(THROTTLE_EVENTS_TABLE)
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('throttle_events_pkey', ['key', 'id'])
    .execute()
  // For the sweep of expired rows across all keys.
  await db.schema.createIndex('throttle_events_expires_idx').on(THROTTLE_EVENTS_TABLE).column('expires').execute()
}

/**
 * Drops the `throttle_events` table (the `down` of {@link throttleEventsMigration}).
 *
 * @example
 * ```ts
 * export async function down(db: Kysely<any>) { await dropThrottleEventsTable(db) }
 * ```
 */
export async function dropThrottleEventsTable(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable(THROTTLE_EVENTS_TABLE).ifExists().execute()
}

/**
 * A ready-made Kysely migration for the `throttle_events` table of {@link KyselyThrottleStore}.
 *
 * @example
 * ```ts
 * // migrations/0004_throttle_events.ts
 * export const { up, down } = throttleEventsMigration()
 * ```
 */
export function throttleEventsMigration(): Migration {
  return {
    up: (db) => createThrottleEventsTable(db),
    down: (db) => dropThrottleEventsTable(db),
  }
}
