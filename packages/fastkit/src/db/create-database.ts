import pg from 'pg'
import { Kysely, PostgresDialect, type Dialect, type KyselyPlugin, type LogConfig } from 'kysely'
import type { DatabaseLogger } from './database-logger.js'
import { PGliteDialect } from './pglite-dialect.js'

/**
 * Connection-pool settings. Every default is finite, so a stuck request or a lost server can never hold
 * a connection, or a caller, forever. They apply to PostgreSQL only: PGlite has one in-process session
 * and, compiled to WebAssembly, cannot enforce server-side timeouts.
 *
 * @example
 * ```ts
 * createDatabase<DB>({ url, pool: { max: 20, statementTimeoutMillis: 10_000, applicationName: 'tasks-api' } })
 * ```
 */
export interface PoolOptions {
  /** Most connections open at once. Default 10. */
  readonly max?: number
  /** How long to wait for a free connection (or a new one) before failing. Default 5 000 ms. */
  readonly connectionTimeoutMillis?: number
  /** Close connections idle this long. Default 30 000 ms. */
  readonly idleTimeoutMillis?: number
  /** Server-side `statement_timeout`: the longest one statement may run. Default 30 000 ms. */
  readonly statementTimeoutMillis?: number
  /** Server-side `idle_in_transaction_session_timeout`: a transaction left idle is ended. Default 60 000 ms. */
  readonly idleInTransactionTimeoutMillis?: number
  /** Reported in `pg_stat_activity`. Default `fastkit`. */
  readonly applicationName?: string
}

/**
 * Options of {@link createDatabase}: where the data lives, pool settings, Kysely plugins and logging.
 *
 * @example
 * ```ts
 * createDatabase<DB>({ url: process.env.DATABASE_URL!, pool: { max: 20 }, plugins: [new CamelCasePlugin()] })
 * ```
 */
export interface DatabaseOptions {
  /**
   * Where the data lives:
   * - `postgres://user@host:5432/db` (or `postgresql://`): a PostgreSQL server, through a `pg` pool;
   * - `memory://`: an embedded PGlite that lives as long as the process;
   * - `pglite://<dir>` or a plain directory path: an embedded PGlite persisted in that directory. The
   *   directory is locked for this process (a second one gets `DataDirLockedError` from this call) and
   *   kept private (0700 folders, 0600 files); the lock is released by `db.destroy()`.
   */
  readonly url: string
  readonly pool?: PoolOptions
  /** Kysely plugins, e.g. `new CamelCasePlugin()`. */
  readonly plugins?: KyselyPlugin[]
  /** Kysely's query log hook; useful for counting statements in tests. */
  readonly log?: LogConfig
  /** Told what fastkit did on its own to a PGlite data folder (stale lock taken over, permissions tightened). */
  readonly logger?: DatabaseLogger
}

/**
 * The kind of database behind a {@link DatabaseOptions.url}.
 *
 * @example
 * ```ts
 * const kind: DatabaseKind = databaseKind(process.env.DATABASE_URL ?? 'memory://')
 * ```
 */
export type DatabaseKind = 'postgres' | 'pglite'

/**
 * Tells which kind of database a URL names (see {@link DatabaseOptions.url}).
 *
 * @example
 * ```ts
 * databaseKind('postgres://app@db:5432/app') // 'postgres'
 * databaseKind('pglite://./data')            // 'pglite'
 * ```
 */
export function databaseKind(url: string): DatabaseKind {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'pglite'
}

const pools = new WeakMap<Kysely<any>, pg.Pool>()

/**
 * Creates a `Kysely<DB>` over PostgreSQL or an embedded PGlite. The same queries and migrations run on
 * both. Both are configured to return `int8` as a JavaScript number (counts, sizes) and `date` as a
 * `YYYY-MM-DD` string; `numeric` stays a string, `timestamptz` is a `Date`.
 *
 * @example
 * ```ts
 * const db = createDatabase<DB>({ url: process.env.DATABASE_URL ?? 'pglite://./.data' })
 * await migrateToLatest(db, { folder: new URL('./migrations', import.meta.url) })
 * ```
 */
export function createDatabase<DB>(options: DatabaseOptions | string): Kysely<DB> {
  const opts = typeof options === 'string' ? { url: options } : options
  const kind = databaseKind(opts.url)
  let dialect: Dialect
  let pool: pg.Pool | undefined
  if (kind === 'postgres') {
    pool = createPool(opts.url, opts.pool)
    dialect = new PostgresDialect({ pool })
  } else {
    dialect = new PGliteDialect({ dataDir: pgliteDir(opts.url), ...(opts.logger ? { logger: opts.logger } : {}) })
  }
  const db = new Kysely<DB>({ dialect, ...(opts.plugins ? { plugins: opts.plugins } : {}), ...(opts.log ? { log: opts.log } : {}) })
  if (pool) pools.set(db, pool)
  return db
}

/**
 * Connection counts of a pool created by {@link createDatabase}; `undefined` for PGlite.
 *
 * @example
 * ```ts
 * app.get('/health', async () => ({ pool: poolStats(app.db) })) // { total: 3, idle: 2, waiting: 0 }
 * ```
 */
export function poolStats(db: Kysely<any>): { total: number; idle: number; waiting: number } | undefined {
  const pool = pools.get(db)
  return pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
}

function pgliteDir(url: string): string {
  if (url === 'memory://' || url === 'pglite://memory') return 'memory://'
  return url.replace(/^pglite:\/\//, '') || 'memory://'
}

const INT8 = 20
const DATE = 1082

function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    statement_timeout: options.statementTimeoutMillis ?? 30_000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMillis ?? 60_000,
    application_name: options.applicationName ?? 'fastkit',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8) return (value: string) => Number(value)
        if (oid === DATE) return (value: string) => value
        return pg.types.getTypeParser(oid, format)
      }) as typeof pg.types.getTypeParser,
    },
  })
  // An idle client that loses its server emits 'error' on the pool; unhandled, it would crash the
  // process. The next checkout simply opens a new connection.
  pool.on('error', () => {})
  return pool
}
