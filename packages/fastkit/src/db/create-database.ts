import pg from 'pg'
import { Kysely, PostgresDialect, type Dialect, type KyselyPlugin, type LogConfig, type PostgresPool, type PostgresPoolClient } from 'kysely'
import { databaseUnavailability, PgErrorCode } from './database-errors.js'
import type { DatabaseLogger } from './database-logger.js'
import { attachConstraintColumns, knownConstraintColumns, loadUniqueConstraints } from './unique-constraints.js'
import { PGliteDialect } from './pglite-dialect.js'
import { isNodePostgresDateParser, timestamptzParser } from './timestamptz-parser.js'

/**
 * Connection-pool settings. Every default is finite, so a stuck request or a lost server can never hold
 * a connection, or a caller, forever. They apply to PostgreSQL only: PGlite has one in-process session
 * and, compiled to WebAssembly, cannot enforce server-side timeouts.
 *
 * One statement waits at most `connectionTimeoutMs` for a connection, then `queryTimeoutMs`
 * for its answer; either failing is a 503 (see `mapDatabaseError`). A connection that timed out on the
 * client side or lost its server is destroyed, never handed to the next request.
 *
 * @example
 * ```ts
 * createDatabase<DB>({ url, pool: { max: 20, statementTimeoutMs: 10_000, applicationName: 'tasks-api' } })
 * ```
 */
export interface PoolOptions {
  /** Most connections open at once. Default 10. */
  readonly max?: number
  /** How long to wait for a free connection (or a new one) before failing. Default 5 000 ms. */
  readonly connectionTimeoutMs?: number
  /** Close connections idle this long. Default 30 000 ms. */
  readonly idleTimeoutMs?: number
  /**
   * Server-side `statement_timeout`: the longest one statement may run. Default 30 000 ms. A route may
   * raise it for its own statements (`uow: { statementTimeoutMs }`).
   */
  readonly statementTimeoutMs?: number
  /**
   * Client-side limit on waiting for one statement's answer (pg's `query_timeout`), for a server that
   * stops answering (frozen, network gone) and so cannot apply its own `statement_timeout`. Default
   * `statementTimeoutMs + 1 000`, so a live server cancels first and the connection stays usable.
   * A route that raises its statement timeout raises this one by as much.
   */
  readonly queryTimeoutMs?: number
  /** Server-side `idle_in_transaction_session_timeout`: a transaction left idle is ended. Default 60 000 ms. */
  readonly idleInTransactionTimeoutMs?: number
  /** Reported in `pg_stat_activity`. Default `fastkit`. */
  readonly applicationName?: string
  /**
   * Sends each parameterized statement as a named prepared statement, so that every connection parses
   * it once and PostgreSQL can reuse its plan instead of planning it on every call (about 100 µs of
   * the server's CPU for a lookup with a membership check). Default `true`. Up to 200 distinct
   * statements per pool are prepared; others run as before.
   *
   * Turn it off behind a pooler that hands one session's statements to different server connections
   * (PgBouncer in transaction mode before 1.21, or without `max_prepared_statements`). A table whose
   * columns change while the app runs makes a prepared `select *` fail once per connection with
   * "cached plan must not change result type": outside a transaction the statement is retried
   * unprepared at once; inside one, that transaction fails (and the statement then runs unprepared
   * on that connection).
   */
  readonly prepareStatements?: boolean
}

/**
 * Options of {@link createDatabase}: where the data lives, pool settings, Kysely plugins and logging.
 *
 * @example
 * ```ts
 * import { CamelCasePlugin } from 'kysely'
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
  assertSupportedUrl(opts.url)
  const kind = databaseKind(opts.url)
  let dialect: Dialect
  let pool: pg.Pool | undefined
  if (kind === 'postgres') {
    pool = createPool(opts.url, opts.pool)
    dialect = new PostgresDialect({ pool: guardPool(pool, opts.pool) })
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

/**
 * A URL with a scheme fastkit does not speak (`mysql://`, `sqlite://`, a typo such as `postgress://`)
 * would otherwise be taken for a PGlite folder name; refuse it and list what is accepted.
 */
function assertSupportedUrl(url: string): void {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new Error(`createDatabase: no database URL given. ${ACCEPTED_URLS}`)
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  if (scheme && !['postgres', 'postgresql', 'pglite', 'memory'].includes(scheme)) {
    throw new Error(`createDatabase: unsupported database URL scheme "${scheme}://". ${ACCEPTED_URLS}`)
  }
}

const ACCEPTED_URLS =
  'Use postgres://user@host:5432/db (or postgresql://) for a PostgreSQL server, memory:// for an in-memory ' +
  'PGlite, or pglite://<dir> (or a plain directory path) for a PGlite database kept on disk.'

function pgliteDir(url: string): string {
  if (url === 'memory://' || url === 'pglite://memory') return 'memory://'
  return url.replace(/^pglite:\/\//, '') || 'memory://'
}

const INT8 = 20
const DATE = 1082
const TIMESTAMPTZ = 1184
/**
 * node-postgres' timestamptz parser as it was when fastkit loaded, if it is still node-postgres' own:
 * fastkit's pools then use {@link timestamptzParser} (the same Dates, faster) until the app sets one.
 */
const defaultTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ, 'text')
const fastTimestamptz = isNodePostgresDateParser(defaultTimestamptz) ? timestamptzParser(defaultTimestamptz) : undefined

/** A `date` stays its text (`2026-12-03`): a Date would be midnight in the server's time zone. */
const asText = (value: string) => value

/** The defaults of {@link PoolOptions}, in one place (the README's "Failure behaviour" lists them). */
const POOL_DEFAULTS = {
  max: 10,
  connectionTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
} as const

function timeouts(options: PoolOptions = {}): { statement: number; query: number } {
  const statement = options.statementTimeoutMs ?? POOL_DEFAULTS.statementTimeoutMs
  return { statement, query: options.queryTimeoutMs ?? statement + 1_000 }
}

function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? POOL_DEFAULTS.max,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? POOL_DEFAULTS.connectionTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs,
    statement_timeout: timeouts(options).statement,
    query_timeout: timeouts(options).query,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? POOL_DEFAULTS.idleInTransactionTimeoutMs,
    application_name: options.applicationName ?? 'fastkit',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8) return Number
        if (oid === DATE) return asText
        const parser = pg.types.getTypeParser(oid, format)
        // The same Dates, parsed faster, unless the app set a timestamptz parser of its own.
        return oid === TIMESTAMPTZ && parser === defaultTimestamptz ? (fastTimestamptz ?? parser) : parser
      }) as typeof pg.types.getTypeParser,
    },
  })
  // An idle client that loses its server emits 'error' on the pool; unhandled, it would crash the
  // process. The next checkout simply opens a new connection.
  pool.on('error', () => {})
  return pool
}

/** What a unit of work sends (inside its transaction) to raise its statement timeout; see unit-of-work.ts. */
export function statementTimeoutSql(millis: number): string {
  return `set local statement_timeout = ${Math.max(0, Math.floor(millis))}`
}
const STATEMENT_TIMEOUT_SQL = /^set local statement_timeout = (\d+)$/

/**
 * The pool Kysely sees: each statement gets the client-side timeout (raised with the unit's own
 * statement timeout), a connection that timed out or lost its server is destroyed on release instead
 * of going back to the pool (it may still run, or hold, the timed-out statement's transaction), and a
 * unique violation gets its constraint's columns from the catalog.
 */
function guardPool(pool: pg.Pool, options: PoolOptions = {}): PostgresPool {
  const limits = timeouts(options)
  const guarded = new WeakMap<pg.PoolClient, GuardedClient>()
  let catalog: Promise<void> | undefined
  const lookUp: ConstraintLookUp = async (error) => {
    if (!error.constraint) return
    if (!knownConstraintColumns(error.schema, error.constraint)) {
      // One catalog read at a time per pool; a constraint created since the last read triggers another.
      catalog ??= loadUniqueConstraints(async (text) => (await pool.query(text)).rows).finally(() => (catalog = undefined))
      await catalog.catch(() => {})
    }
    const columns = knownConstraintColumns(error.schema, error.constraint)
    if (columns) attachConstraintColumns(error, columns)
  }
  // Wrapped as soon as it is connected, before pg-pool hands it out and stops listening for its
  // errors: the caller of `pool.connect()` resumes a microtask later, after the rest of the socket
  // read that completed the connection, which may already hold an error (a server ending the
  // connection right after it opened: 57P01 during a fast stop).
  const names = options.prepareStatements === false ? undefined : new StatementNames()
  const wrap = (client: pg.PoolClient) => {
    const wrapper = new GuardedClient(client, limits, lookUp, names)
    guarded.set(client, wrapper)
    return wrapper
  }
  pool.on('connect', wrap)
  return {
    async connect() {
      const client = await pool.connect()
      const wrapper = guarded.get(client) ?? wrap(client)
      wrapper.acquired()
      return wrapper
    },
    end: () => pool.end(),
  }
}

type ConstraintLookUp = (error: { constraint?: string; schema?: string }) => Promise<void>

/** Most distinct statements a pool prepares (each costs memory in every server connection that ran it). */
const MAX_PREPARED_STATEMENTS = 200

/**
 * The names of a pool's prepared statements, one per statement text, the same on every connection
 * (node-postgres parses a name once per connection and refuses one name for two texts).
 */
class StatementNames {
  readonly #names = new Map<string, string>()

  /** The text's name, or `undefined` once the pool has named as many statements as it may. */
  nameOf(text: string): string | undefined {
    let name = this.#names.get(text)
    if (name === undefined && this.#names.size < MAX_PREPARED_STATEMENTS) {
      name = `fastkit_${this.#names.size + 1}`
      this.#names.set(text, name)
    }
    return name
  }
}

/**
 * Errors of a named statement after which this connection runs its text unprepared: a plan whose
 * result columns changed with the table (0A000), and a statement the server no longer has (26000,
 * after `DISCARD ALL` or behind a pooler).
 */
const STALE_STATEMENT_ERRORS = new Set(['0A000', '26000'])

class GuardedClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient
  readonly #limits: { statement: number; query: number }
  readonly #lookUp: ConstraintLookUp
  #queryTimeout: number
  #broken = false
  /** Statements handed to the client and not yet answered. */
  #inFlight = 0

  readonly #names: StatementNames | undefined
  /** Names whose statement failed as stale on this connection: their texts run unprepared here. */
  #stale: Set<string> | undefined

  constructor(client: pg.PoolClient, limits: { statement: number; query: number }, lookUp: ConstraintLookUp, names: StatementNames | undefined) {
    this.#client = client
    this.#limits = limits
    this.#lookUp = lookUp
    this.#names = names
    this.#queryTimeout = limits.query
    // pg-pool listens for errors only while a client is idle. A checked-out client whose server goes
    // away between two statements (a transaction waiting on the app) emits 'error' with nobody
    // listening, which would crash the process; here it just marks the connection as lost.
    client.on('error', () => {
      this.#broken = true
    })
  }

  acquired(): void {
    this.#queryTimeout = this.#limits.query
  }

  query(...args: any[]): any {
    const [text, values] = args as [unknown, unknown[] | undefined]
    // A cursor (streaming) is passed through as is.
    if (typeof text !== 'string') return (this.#client.query as (...a: unknown[]) => unknown)(...args)
    return this.#run(text, values)
  }

  async #run(text: string, values: unknown[] | undefined): Promise<pg.QueryResult> {
    if (this.#broken) {
      // Fail at once: the statements after a lost one (ROLLBACK included) would only wait out their own timeouts.
      throw Object.assign(new Error('The connection to the database was lost'), { code: PgErrorCode.CONNECTION_FAILURE })
    }
    // A statement issued while another is still unanswered (a unit of work's last statements and its
    // COMMIT, see UnitOfWork.sendWithCommit) is written to the server at once (node-postgres'
    // pipeline mode) instead of when the one before it is answered: otherwise it would still wait
    // for this process's event loop to read that answer, with the transaction's locks held. The
    // server runs them in order either way, each ending in its own Sync, so one that fails does not
    // skip the next (an aborted transaction's COMMIT is answered with ROLLBACK). Pipeline mode is
    // left again once nothing is in flight, so lone statements behave exactly as before.
    if (this.#inFlight > 0) (this.#client as { pipeline: boolean }).pipeline = true
    this.#inFlight++
    try {
      let name = values?.length ? this.#names?.nameOf(text) : undefined
      if (name !== undefined && this.#stale?.has(name)) name = undefined
      let result: pg.QueryResult
      try {
        result = await this.#send(text, values, name)
      } catch (error) {
        if (name === undefined || !STALE_STATEMENT_ERRORS.has((error as { code?: string }).code ?? '')) throw error
        ;(this.#stale ??= new Set()).add(name)
        // Outside a transaction nothing was changed by the failed statement: run it again, unprepared.
        if (this.#inFlight !== 1 || this.#client.getTransactionStatus() !== 'I') throw error
        result = await this.#send(text, values, undefined)
      }
      const raised = STATEMENT_TIMEOUT_SQL.exec(text)
      if (raised) this.#queryTimeout = Number(raised[1]) + Math.max(0, this.#limits.query - this.#limits.statement)
      return result
    } catch (error) {
      // After statement_timeout (57014) the server is fine and so is the connection; after anything
      // else of the kind the connection cannot be trusted.
      if (databaseUnavailability(error) && (error as { code?: string }).code !== PgErrorCode.QUERY_CANCELED) this.#broken = true
      if ((error as { code?: string }).code === PgErrorCode.UNIQUE_VIOLATION) await this.#lookUp(error as { constraint?: string })
      throw error
    } finally {
      if (--this.#inFlight === 0) (this.#client as { pipeline: boolean }).pipeline = false
    }
  }

  /**
   * Sends one statement: named (prepared on this connection the first time) or not, with the unit's
   * query timeout when it differs from the pool's. The statement goes to node-postgres as a `Query`
   * built from the text (so `name` and `query_timeout` are set on it, not copied from a config object
   * property by property, which showed up in profiles of hot routes) with one promise around it.
   */
  #send(text: string, values: unknown[] | undefined, name: string | undefined): Promise<pg.QueryResult> {
    const query = new pg.Query(text, values) as pg.Query & { name?: string; query_timeout?: number }
    if (name !== undefined) query.name = name
    if (this.#queryTimeout !== this.#limits.query) query.query_timeout = this.#queryTimeout
    return new Promise((resolve, reject) => {
      ;(query as { callback?: (error: Error | null, result: pg.QueryResult) => void }).callback = (error, result) => {
        if (!error) return resolve(result)
        // As node-postgres does: a stack that leads back here, not to the socket read.
        Error.captureStackTrace(error)
        reject(error)
      }
      this.#client.query(query)
    })
  }

  release(destroy?: boolean): void {
    this.#client.release(this.#broken || destroy || undefined)
  }
}
