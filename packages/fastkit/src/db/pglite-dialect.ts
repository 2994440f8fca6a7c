import type { PGlite, PGliteOptions } from '@electric-sql/pglite'
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { processWarningLogger, type DatabaseLogger } from './database-logger.js'
import { Mutex } from './mutex.js'
import { ensurePrivateDir, makeTreePrivate } from './private-data-dir.js'
import { attachConstraintColumns, knownConstraintColumns, loadUniqueConstraints } from './unique-constraints.js'

/**
 * Where an embedded database keeps its data: a directory, or `memory://` for a throwaway one.
 *
 * A directory is opened by one process at a time: the driver locks it (`<dir>/fastkit.lock`) when the
 * `Kysely` instance is constructed and unlocks it on `destroy()`, and keeps it private (0700 folders,
 * 0600 files). See {@link lockDataDir} and {@link ensurePrivateDir}.
 *
 * @example
 * ```ts
 * import { PGlite } from '@electric-sql/pglite'
 * new PGliteDialect({ dataDir: './data' })
 * new PGliteDialect({ pglite: await PGlite.create() })
 * ```
 */
export interface PGliteDialectConfig {
  /** A directory (created if missing), `memory://`, or an already created PGlite instance. */
  readonly dataDir?: string
  readonly pglite?: PGlite
  /** PGlite's options. fastkit starts it with `shared_buffers=16MB` unless `startParams` is given. */
  readonly options?: PGliteOptions
  /** Told when a stale lock is taken over or loose permissions are tightened. Default: `process.emitWarning`. */
  readonly logger?: DatabaseLogger
}

/** PGlite's `shared_buffers` unless `options.startParams` says otherwise. */
const PGLITE_SHARED_BUFFERS = '16MB'

const WRITE_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode'])

/**
 * A Kysely dialect over PGlite, PostgreSQL compiled to WebAssembly and run in-process.
 *
 * PGlite has exactly one session, so the driver hands out its single connection to one holder at a
 * time (a transaction holds it until commit or rollback); everyone else waits in FIFO order.
 * `createDatabase('memory://')` uses it; construct it yourself to share a PGlite instance.
 *
 * @example
 * ```ts
 * import { PGlite } from '@electric-sql/pglite'
 * const pglite = await PGlite.create()
 * const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) })
 * ```
 */
export class PGliteDialect implements Dialect {
  readonly #config: PGliteDialectConfig

  constructor(config: PGliteDialectConfig) {
    this.#config = config
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }
  createDriver(): Driver {
    return new PGliteDriver(this.#config)
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}

class PGliteDriver implements Driver {
  readonly #config: PGliteDialectConfig
  readonly #mutex = new Mutex()
  /** Absolute data folder, when the data lives on disk and this driver opens it. */
  readonly #dataDir: string | undefined
  readonly #lock: DataDirLock | undefined
  #client: PGlite | undefined
  #connection: PGliteConnection | undefined
  #ownsClient = false

  constructor(config: PGliteDialectConfig) {
    this.#config = config
    const dir = config.pglite || !config.dataDir || config.dataDir === 'memory://' ? undefined : config.dataDir
    if (dir) {
      // Synchronous, in `new Kysely(...)`: a second process fails at once, with the holder's pid,
      // before it could read a copy of the data that the first one is about to overwrite.
      const logger = config.logger ?? processWarningLogger
      this.#dataDir = ensurePrivateDir(dir, { logger })
      this.#lock = lockDataDir(this.#dataDir, { logger })
      let loosened: number
      try {
        loosened = makeTreePrivate(this.#dataDir)
      } catch (error) {
        this.#lock.release() // e.g. EPERM on a file of another user: this process will not open the folder
        throw error
      }
      if (loosened > 0) {
        logger.warn(`Made ${loosened} ${loosened === 1 ? 'entry' : 'entries'} under ${this.#dataDir} private (files 0600, folders 0700): other users could read them`)
      }
    }
  }

  async init(): Promise<void> {
    if (this.#config.pglite) {
      this.#client = this.#config.pglite
    } else {
      const { PGlite, types } = await import('@electric-sql/pglite')
      const dataDir = this.#dataDir
      // PostgreSQL's default 128 MB of shared buffers is resident memory in WebAssembly; an embedded
      // database for one process does with 16 MB (measured: 290 MB -> 157 MB resident after opening).
      const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`]
      if (dataDir && !this.#config.options && !existsSync(path.join(dataDir, 'PG_VERSION'))) {
        await createDataDirInChildProcess(dataDir, startParams)
      }
      this.#client = await PGlite.create(dataDir, {
        startParams,
        ...this.#config.options,
        parsers: {
          // node-postgres returns int8 as a string and date as a Date; PGlite differs. Align both on
          // the choices documented in create-database.ts so one app behaves the same on either.
          [types.INT8]: (value: string) => Number(value),
          [types.DATE]: (value: string) => value,
          ...this.#config.options?.parsers,
        },
      })
      this.#ownsClient = true
      // PGlite writes its initial cluster with mode 0666 (and later files under the process umask):
      // the 0700 folder already keeps others out; this makes the files private too.
      if (this.#dataDir) makeTreePrivate(this.#dataDir)
    }
    this.#connection = new PGliteConnection(this.#client)
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock()
    return this.#connection!
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock()
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let sql = 'begin'
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`
    if (settings.accessMode) sql += ` ${settings.accessMode}`
    await connection.executeQuery(CompiledQuery.raw(sql))
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }
  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`))
  }
  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`))
  }
  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`))
  }

  async destroy(): Promise<void> {
    try {
      if (this.#ownsClient && this.#client && !this.#client.closed) await this.#client.close()
      if (this.#dataDir) makeTreePrivate(this.#dataDir)
    } finally {
      this.#lock?.release()
    }
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

class PGliteConnection implements DatabaseConnection {
  readonly #client: PGlite

  constructor(client: PGlite) {
    this.#client = client
  }

  /** Whether the schema may have changed since the unique constraints were last read. */
  #catalogStale = true
  /** The read of the unique constraints under way, if any. */
  #catalogRead: Promise<unknown> | undefined

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const kind = compiledQuery.query.kind
    const raw = kind === 'RawNode' ? compiledQuery.sql.trimStart().slice(0, 8).toLowerCase() : ''
    const isWrite = WRITE_KINDS.has(kind)
    // The one session is unusable after a failed statement in a transaction, so a unique violation
    // cannot be looked up when it happens: read the constraints before the first write that could
    // raise one, once per schema change.
    if (this.#catalogStale && (isWrite || /^(insert|update|merge|with)\b/.test(raw))) {
      this.#catalogStale = false
      this.#catalogRead = loadUniqueConstraints(async (text) => (await this.#client.query<any>(text)).rows).catch(() => (this.#catalogStale = true))
    }
    // Statements issued while the read is under way wait for it too, so they still reach PGlite in
    // the order they were issued (a unit of work queues its last statements and COMMIT together).
    const read = this.#catalogRead
    if (read) {
      await read
      if (this.#catalogRead === read) this.#catalogRead = undefined
    }
    if (/^(Create|Alter|Drop)/.test(kind) || /^(create|alter|drop)\b/.test(raw)) this.#catalogStale = true
    let result
    try {
      result = await this.#client.query<R>(compiledQuery.sql, [...compiledQuery.parameters], { rowMode: 'object' })
    } catch (error) {
      const { code, constraint, schema } = error as { code?: string; constraint?: string; schema?: string }
      const columns = code === '23505' && constraint ? knownConstraintColumns(schema, constraint) : undefined
      if (columns) attachConstraintColumns(error as object, columns)
      throw error
    }
    return {
      rows: result.rows,
      ...(isWrite && result.affectedRows !== undefined ? { numAffectedRows: BigInt(result.affectedRows) } : {}),
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries; use executeQuery')
  }
}


/**
 * Creates a new PGlite data folder in a short-lived child process. PGlite runs initdb in a second
 * WebAssembly instance whose memory this process would keep for good: measured, 700-780 MB resident
 * after a first start, against about 160 MB when the folder already exists. The child takes that
 * memory with it when it exits.
 */
async function createDataDirInChildProcess(dataDir: string, startParams: readonly string[]): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  const script = `require(${JSON.stringify(pglite)}).PGlite.create(${JSON.stringify(dataDir)}, { startParams: ${JSON.stringify(startParams)} })
    .then((pg) => pg.close()).catch((error) => { console.error(error?.message ?? error); process.exit(1) })`
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`PGlite could not create its data folder ${dataDir}: ${stderr.trim()}`))))
  })
}
