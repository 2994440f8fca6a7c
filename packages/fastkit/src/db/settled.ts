import { sql, type RawBuilder, type SqlBool } from 'kysely'

/**
 * Whether a row is settled: its writing transaction, recorded in the `xid8` column `txColumn`
 * (declared `default pg_current_xact_id()`), is older than every transaction still running, so no
 * transaction that is still open can commit a row that sorts before it by `(txColumn, …)`.
 *
 * This is how rows are read in a stable order without a lock held until COMMIT: order them by their
 * transaction id first, and read only settled rows. A reader that pages on, or a feed that follows the
 * table (`TableFeed`), then never skips a row that commits later: whatever commits later sorts after
 * everything it has read. A row settles once every transaction that began writing before it has
 * ended, normally within milliseconds, but never while an older writing transaction stays open (in
 * any database of the cluster): keep transactions short (fastkit's units of work time out).
 *
 * @example
 * ```ts
 * import { sql, type Kysely } from 'kysely'
 * import { settled } from 'fastkit'
 *
 * declare const db: Kysely<{ events: { tx: string; id: string; body: string } }>
 * // In a migration: alter table events add column tx xid8 not null default pg_current_xact_id()
 * const newer = await db
 *   .selectFrom('events')
 *   .selectAll()
 *   .where(sql<boolean>`(tx, id) > (${'1234'}, ${'00000000-0000-0000-0000-000000000000'})`)
 *   .where(settled('tx'))
 *   .orderBy('tx')
 *   .orderBy('id')
 *   .execute()
 * ```
 */
export function settled(txColumn: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.ref(txColumn)} < pg_snapshot_xmin(pg_current_snapshot())`
}
