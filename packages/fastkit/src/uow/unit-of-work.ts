import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type ConnectionProvider,
  type ControlledTransaction,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Compilable,
  type IsolationLevel,
  type QueryResult,
  type RootOperationNode,
} from 'kysely'
import { statementTimeoutSql } from '../db/create-database.js'

/**
 * How a unit of work runs its transaction. Set per unit, or per route through `BaseRouter`.
 *
 * @example
 * ```ts
 * const tasks = await UnitOfWork.run(db, (uow) => uow.db.selectFrom('tasks').selectAll().execute(), {
 *   isolationLevel: 'repeatable read',
 *   readOnly: true,
 * })
 * ```
 *
 * @example
 * ```ts method-body=TaskRouter
 * // per route of a BaseRouter (its `uow` option, on generated and custom routes alike): the list reads
 * // in a read-only transaction, the other routes in the default one
 * this.crud({ read: TaskRead, list: { sort: ['createdAt'], uow: { readOnly: true } }, get: true, create: { body: TaskCreate } })
 * ```
 */
export interface UnitOfWorkOptions {
  /**
   * `read committed` (PostgreSQL's default) lets a unit read outside a transaction until its first
   * write. Any stricter level begins the transaction on the first statement, so all reads share one
   * snapshot.
   */
  readonly isolationLevel?: IsolationLevel
  /** Runs the transaction `read only`: a write fails instead of committing. */
  readonly readOnly?: boolean
  /**
   * Raises (or lowers) `statement_timeout` for this unit's statements, e.g. for a report route that
   * needs longer than the pool's default (`SET LOCAL`, so it ends with the transaction; the
   * client-side query timeout moves with it). Setting it runs every statement of the unit, reads
   * included, in one transaction. PostgreSQL only: PGlite accepts and ignores it.
   */
  readonly statementTimeoutMs?: number
  /**
   * Runs the unit without a transaction, for work that is ONE write (a route that inserts a row and
   * returns it): the write is sent alone and PostgreSQL commits it as it runs, with no BEGIN and
   * COMMIT round trips. Reads go through the pool as usual. The unit can never commit half of its
   * work: a second write (from the service, a before-commit callback or `sendWithCommit`) is refused
   * with a `TypeError` before it is sent; `nested()` is refused too. After-commit callbacks run when
   * the unit commits, as usual. What this gives up: the write is stored once it ran, even if the
   * request fails afterwards (the unit rolls nothing back), so use it where the write is the last thing
   * that can fail. In a request (see `requestScope`), a client that hangs up once the write was sent
   * does not end the unit: the handler runs on, and the unit commits (its after-commit callbacks run)
   * or rolls back as the handler's outcome says. Not with `isolationLevel`, `readOnly` or
   * `statementTimeoutMs`, which need a transaction. An `EventPublisher` of such a unit hands its
   * events to the bus after the write committed, as it does with a transport that cannot send inside
   * a transaction.
   */
  readonly singleWrite?: boolean
  /** Where failures of after-commit callbacks are reported. Defaults to `console.error`. */
  readonly onCallbackError?: (error: unknown) => void
}

/**
 * Where a unit of work stands. Only an `open` unit runs statements.
 *
 * @example
 * ```ts
 * if (request.uow.state === 'open') request.uow.afterCommit(() => request.log.info('committed'))
 * ```
 */
export type UnitOfWorkState = 'open' | 'committed' | 'rolledBack'

type Callback = () => unknown
type BeforeCommitCallback = () => Promise<unknown> | unknown

/**
 * Thrown when a statement is issued through a unit that has already committed or rolled back, e.g.
 * by work that outlived its request.
 *
 * @example
 * ```ts
 * await uow.commit()
 * await uow.db.selectFrom('tasks').selectAll().execute() // rejects with UnitOfWorkClosedError
 * ```
 */
export class UnitOfWorkClosedError extends Error {
  constructor(state: UnitOfWorkState) {
    super(`This unit of work has already ${state === 'committed' ? 'committed' : 'rolled back'}; start a new one`)
    this.name = 'UnitOfWorkClosedError'
  }
}

/**
 * One transaction's worth of work. Every repository resolved in one request shares the request's unit,
 * so all of its writes commit or roll back together.
 *
 * - **Lazy**: nothing is sent until the first statement. Under `read committed`, reads run straight on
 *   the pool until the first write (or locking read) begins the transaction, so a request that only
 *   reads issues no BEGIN/COMMIT at all.
 * - **Nested** units ({@link nested}) are savepoints: an inner failure rolls back only the inner part.
 * - **Before commit**: callbacks registered with {@link beforeCommit} run inside the transaction just
 *   before COMMIT (e.g. a NOTIFY that must commit, or not, with the writes); a failing one rolls back.
 * - **After commit**: callbacks registered with {@link afterCommit} run once the commit succeeded and
 *   never after a rollback; a failing callback is reported, not rethrown.
 *
 * Outside HTTP (scripts, jobs) use {@link UnitOfWork.run}.
 *
 * @example
 * ```ts
 * declare const chatId: string
 * const message = await UnitOfWork.run(db, async (uow) => {
 *   const row = await uow.db.insertInto('messages').values({ chatId, senderId: user.id, text: 'hi' }).returningAll().executeTakeFirstOrThrow()
 *   uow.afterCommit(() => app.log.info({ messageId: row.id }, 'message created')) // only once it is stored
 *   return row
 * })
 * ```
 */
export class UnitOfWork<DB = any> {
  readonly #root: Kysely<DB>
  #options: UnitOfWorkOptions
  #state: UnitOfWorkState = 'open'
  #db: Kysely<DB> | undefined
  #trx: Promise<ControlledTransaction<DB>> | undefined
  #committing: Promise<void> | undefined
  /** Callback lists, one per open savepoint level; index 0 is the unit itself. */
  readonly #callbacks: Callback[][] = [[]]
  /** Before-commit callback lists, one per open savepoint level like `#callbacks`. */
  readonly #beforeCommit: BeforeCommitCallback[][] = [[]]
  /** Statements queued with {@link sendWithCommit}, one list per open savepoint level like `#callbacks`. */
  readonly #withCommit: CompiledQuery[][] = [[]]
  /** Set once the commit took the queued statements: {@link sendWithCommit} refuses from then on. */
  #sendingCommit = false
  #savepoints = 0
  /** Set once a `singleWrite` unit sent its write. */
  #wrote = false

  constructor(root: Kysely<DB>, options: UnitOfWorkOptions = {}) {
    if (options.singleWrite && (options.isolationLevel || options.readOnly || options.statementTimeoutMs !== undefined)) {
      throw new TypeError('A singleWrite unit of work runs no transaction: it takes no isolationLevel, readOnly or statementTimeoutMs')
    }
    this.#root = root
    this.#options = options
  }

  /**
   * Runs `fn` in a new unit: commits when it resolves, rolls back when it throws, then runs the
   * after-commit callbacks.
   */
  static async run<DB, T>(root: Kysely<DB>, fn: (uow: UnitOfWork<DB>) => Promise<T>, options?: UnitOfWorkOptions): Promise<T> {
    const uow = new UnitOfWork(root, options)
    try {
      const result = await fn(uow)
      await uow.commit()
      return result
    } catch (error) {
      await uow.rollback()
      throw error
    }
  }

  /** The query builder of this unit. Repositories use it; so can you. */
  get db(): Kysely<DB> {
    this.#db ??= this.#createKysely()
    return this.#db
  }

  /**
   * The database this unit runs on (the app's `db`), for caches that depend on its dialect and plugins.
   * @internal
   */
  get root(): Kysely<DB> {
    return this.#root
  }

  get state(): UnitOfWorkState {
    return this.#state
  }

  /** Whether a transaction has been begun (or is beginning). */
  get inTransaction(): boolean {
    return this.#trx !== undefined
  }

  /** Whether this unit runs its one write without a transaction (see {@link UnitOfWorkOptions.singleWrite}). */
  get singleWrite(): boolean {
    return this.#options.singleWrite === true
  }

  /**
   * Whether this `singleWrite` unit has sent its one write. From then on the write's own outcome is
   * the unit's: PostgreSQL commits it as it runs, so a rollback cannot undo it.
   */
  get writeSent(): boolean {
    return this.#wrote
  }

  get options(): UnitOfWorkOptions {
    return this.#options
  }

  /**
   * Registers `fn` to run after a successful commit (never after a rollback). Callbacks start in
   * registration order, and those of this process's units start in the order their COMMITs were
   * sent (see `#commit`); async ones then run concurrently, and a failure is reported, not rethrown.
   */
  afterCommit(fn: Callback): void {
    this.#assertOpen()
    this.#callbacks[this.#callbacks.length - 1]!.push(fn)
  }

  /**
   * Registers `fn` to run inside the transaction just before COMMIT, awaited one after the other in
   * registration order; statements it sends through {@link db} are part of the transaction. A
   * callback that throws rolls the unit back and `commit()` rejects with its error, as for a failed
   * COMMIT. Dropped on rollback, and with the savepoint ({@link nested}) it was registered in when
   * that rolls back. A unit that never began a transaction runs them before its (empty) commit, and
   * their statements go through the pool as any other statement of the unit would.
   *
   * @example
   * ```ts
   * uow.beforeCommit(() => sql`select pg_notify('changes', ${user.id})`.execute(uow.db))
   * ```
   */
  beforeCommit(fn: BeforeCommitCallback): void {
    this.#assertOpen()
    this.#beforeCommit[this.#beforeCommit.length - 1]!.push(fn)
  }

  /**
   * Queues `query` to be sent on this unit's transaction connection right before its COMMIT, with
   * the COMMIT issued behind it at once, without waiting for its answer. On PostgreSQL both are
   * written to the server together (node-postgres' pipeline mode, see `GuardedClient` in
   * create-database.ts), so the unit's locks are not held while this process's event loop gets
   * round to reading the statement's answer. Use it for a last statement whose result nobody needs
   * (a `pg_notify`), typically from a {@link beforeCommit} callback.
   *
   * - Queued statements go out after every before-commit callback finished, in the order queued.
   * - If one fails, PostgreSQL answers the COMMIT with a ROLLBACK: `commit()` rejects with that
   *   statement's error, nothing is stored and no after-commit callback runs (as when a
   *   before-commit callback fails).
   * - Dropped on rollback, and with the savepoint ({@link nested}) it was queued in when that rolls back.
   * - A unit that never began a transaction treats them as it would any other statement: a plain
   *   SELECT goes through the pool, just before the (empty) commit; a statement that needs a
   *   transaction (a write, raw SQL) begins one, and then goes out with its COMMIT.
   *
   * Parameters must be plain values (strings, numbers, booleans, bigints, dates, byte arrays,
   * `null`, arrays of those): one the driver could not serialize would fail without reaching the
   * server, hence without aborting the transaction, so such a query is refused here with a
   * `TypeError`. Throws {@link UnitOfWorkClosedError} once the unit ended or its commit began
   * sending.
   *
   * @example
   * ```ts
   * uow.beforeCommit(() => uow.sendWithCommit(sql`select pg_notify('changes', ${user.id})`.compile(uow.db)))
   * ```
   */
  sendWithCommit(query: CompiledQuery | Compilable): void {
    this.#assertOpen()
    if (this.#sendingCommit) throw new UnitOfWorkClosedError('committed')
    const compiled = isCompiledQuery(query) ? query : query.compile()
    for (const parameter of compiled.parameters) assertPlainParameter(parameter)
    this.#withCommit[this.#withCommit.length - 1]!.push(compiled)
  }

  /**
   * Runs `fn` inside a savepoint. If `fn` throws, its writes (and before- and after-commit callbacks)
   * are rolled back and the error rethrown; the outer unit stays usable. Run nested units one at a time.
   */
  async nested<T>(fn: () => Promise<T>): Promise<T> {
    this.#assertOpen()
    if (this.#options.singleWrite) throw new TypeError('A singleWrite unit of work has no transaction, hence no savepoints: nested() is refused')
    const trx = await this.#transaction()
    const name = `fastkit_sp_${++this.#savepoints}`
    const savepoint = await trx.savepoint(name).execute()
    this.#callbacks.push([])
    this.#beforeCommit.push([])
    this.#withCommit.push([])
    try {
      const result = await fn()
      await savepoint.releaseSavepoint(name).execute()
      const inner = this.#callbacks.pop()!
      this.#callbacks[this.#callbacks.length - 1]!.push(...inner)
      const innerBefore = this.#beforeCommit.pop()!
      this.#beforeCommit[this.#beforeCommit.length - 1]!.push(...innerBefore)
      const innerWith = this.#withCommit.pop()!
      this.#withCommit[this.#withCommit.length - 1]!.push(...innerWith)
      return result
    } catch (error) {
      this.#callbacks.pop()
      this.#beforeCommit.pop()
      this.#withCommit.pop()
      if (this.#state === 'open') await savepoint.rollbackToSavepoint(name).execute()
      throw error
    }
  }

  /** Runs the before-commit callbacks, commits (if a transaction began), then runs the after-commit callbacks. */
  async commit(): Promise<void> {
    this.#assertOpen()
    this.#committing ??= this.#commit()
    return this.#committing
  }

  /**
   * Commits at once, without a promise, a unit that has nothing to commit: no transaction begun, no
   * before- or after-commit callback, no commit under way. Returns false, doing nothing, otherwise
   * (then call {@link commit}). The request scope uses it so that a request that only read costs no
   * promise turns at its end.
   *
   * @example
   * ```ts
   * if (!uow.commitIfIdle()) await uow.commit()
   * ```
   */
  commitIfIdle(): boolean {
    if (this.#state !== 'open' || this.#trx || this.#committing) return false
    for (const list of this.#beforeCommit) if (list.length > 0) return false
    for (const list of this.#withCommit) if (list.length > 0) return false
    for (const list of this.#callbacks) if (list.length > 0) return false
    this.#state = 'committed'
    return true
  }

  async #commit(): Promise<void> {
    let queued: CompiledQuery[]
    try {
      await this.#runBeforeCommit()
      this.#sendingCommit = true
      queued = this.#withCommit.flat()
      this.#withCommit.length = 0
      // No transaction: those that need none go through the pool like any other of the unit's
      // statements; the first that needs one begins it, and it and the rest go with the COMMIT.
      while (!this.#trx && queued.length > 0 && !this.#needsTransaction(queued[0]!.query)) await this.#execute(queued.shift()!)
      if (!this.#trx && queued.length > 0) await this.#transaction()
    } catch (error) {
      this.#state = 'rolledBack'
      this.#callbacks.length = 0
      this.#beforeCommit.length = 0
      this.#withCommit.length = 0
      if (this.#trx) await this.#releaseAfterFailure(this.#trx)
      throw error
    }
    // Read after the before-commit callbacks: one of them may have begun the transaction.
    const trx = this.#trx
    // Callbacks (events) must follow commit order. A unit that waited for this one's lock sends its
    // COMMIT after this one's COMMIT ran, but its answer can come back first (this one's backend may
    // be descheduled between releasing its locks and replying). So units with callbacks take turns
    // in the order they reach this point, per database: this one's callbacks start after the
    // previous unit's commit settled and its callbacks started.
    const turn = this.#callbacks.some((list) => list.length > 0) ? takeTurn(this.#root) : undefined
    try {
      if (trx) {
        try {
          const t = await trx
          if (queued.length > 0) await commitWith(t, queued)
          else await t.commit().execute()
        } catch (error) {
          this.#state = 'rolledBack'
          await this.#releaseAfterFailure(trx)
          throw error
        }
      }
      this.#state = 'committed'
      await turn?.previous
      const running = this.#runCallbacks()
      turn?.done()
      await running
    } finally {
      turn?.done()
    }
  }

  /**
   * Rolls back (if a transaction began) and drops the after-commit callbacks. Safe to call twice; while
   * a commit is in flight it waits for that commit instead.
   */
  async rollback(): Promise<void> {
    // A COMMIT already on the wire decides the outcome (a client abort can arrive during it). Sending
    // ROLLBACK behind it would run after the connection went back to the pool, on someone else's
    // transaction (on PGlite, the next holder of the one session).
    if (this.#committing) return this.#committing.catch(() => {})
    if (this.#state !== 'open') return
    this.#state = 'rolledBack'
    this.#callbacks.length = 0
    this.#beforeCommit.length = 0
    this.#withCommit.length = 0
    const trx = this.#trx
    if (!trx) return
    try {
      const t = await trx
      if (!t.isCommitted && !t.isRolledBack) await t.rollback().execute()
    } catch {
      // The transaction never began or its connection is gone: nothing left to roll back.
    }
  }

  async #releaseAfterFailure(trx: Promise<ControlledTransaction<DB>>): Promise<void> {
    try {
      const t = await trx
      if (!t.isCommitted && !t.isRolledBack) await t.rollback().execute()
    } catch {
      // see rollback()
    }
  }

  /** Awaits each before-commit callback in turn, including any registered while they run. */
  async #runBeforeCommit(): Promise<void> {
    for (;;) {
      const callbacks = this.#beforeCommit.flat()
      if (callbacks.length === 0) return
      this.#beforeCommit.length = 0
      this.#beforeCommit.push([])
      for (const callback of callbacks) await callback()
    }
  }

  /** Starts every callback now, in order (their synchronous parts run before this returns). */
  #runCallbacks(): Promise<unknown> {
    const callbacks = this.#callbacks.flat()
    this.#callbacks.length = 0
    const report = (error: unknown) => (this.#options.onCallbackError ?? ((e) => console.error('fastkit: after-commit callback failed', e)))(error)
    return Promise.all(
      callbacks.map((callback) => {
        try {
          return Promise.resolve(callback()).catch(report)
        } catch (error) {
          report(error)
          return undefined
        }
      }),
    )
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new UnitOfWorkClosedError(this.#state)
  }

  #transaction(): Promise<ControlledTransaction<DB>> {
    if (!this.#trx) {
      let builder = this.#root.startTransaction()
      if (this.#options.isolationLevel) builder = builder.setIsolationLevel(this.#options.isolationLevel)
      if (this.#options.readOnly) builder = builder.setAccessMode('read only')
      const timeout = this.#options.statementTimeoutMs
      this.#trx = builder.execute()
      if (timeout !== undefined) {
        this.#trx = this.#trx.then(async (trx) => {
          try {
            await trx.executeQuery(CompiledQuery.raw(statementTimeoutSql(timeout)))
          } catch (error) {
            // Nobody else holds this transaction yet: end it, or its connection never returns to the pool.
            await trx.rollback().execute().catch(() => {})
            throw error
          }
          return trx
        })
      }
      // Avoid an unhandled rejection when nobody awaits a failed BEGIN; callers still see the error.
      this.#trx.catch(() => {})
    }
    return this.#trx
  }

  #needsTransaction(query: RootOperationNode): boolean {
    if (this.#options.singleWrite) return false
    if (this.#trx || this.#options.statementTimeoutMs !== undefined) return true
    const level = this.#options.isolationLevel
    if (level && level !== 'read committed' && level !== 'read uncommitted') return true
    return !isPlainSelect(query)
  }

  async #execute<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    this.#assertOpen()
    if (this.#options.singleWrite && !isPlainSelect(compiled.query)) {
      if (this.#wrote) {
        throw new TypeError(
          'This unit of work is singleWrite: its one write already ran (and is stored), so it refuses a second. Drop singleWrite to run several writes in one transaction.',
        )
      }
      this.#wrote = true
    }
    const executor = this.#needsTransaction(compiled.query) ? (await this.#transaction()).getExecutor() : this.#root.getExecutor()
    // Checked again: a rollback (client abort) may have happened while we waited for BEGIN.
    this.#assertOpen()
    return executor.provideConnection((connection) => connection.executeQuery<R>(compiled))
  }

  #createKysely(): Kysely<DB> {
    const connection: DatabaseConnection = {
      executeQuery: (compiled) => this.#execute(compiled),
      streamQuery() {
        throw new Error('Streaming is not supported inside a unit of work')
      },
    }
    const provider: ConnectionProvider = { provideConnection: (consumer) => consumer(connection) }
    // Only the executor is the unit's own: the dialect and driver (which refuse transactions) are
    // shared by every unit, as building them per request showed up in profiles.
    return new Kysely<DB>({ config: { dialect: unitDialect }, dialect: unitDialect, driver: unitDriver, executor: this.#root.getExecutor().withConnectionProvider(provider) })
  }
}

const refuseTransaction = async (): Promise<never> => {
  throw new Error('Inside a unit of work, use uow.nested(fn) instead of db.transaction()')
}

/**
 * The driver of every unit's query builder. Kysely reaches the connection through the unit's
 * executor, never through the driver; the driver is asked only to begin, commit or roll back a
 * transaction (`db.transaction()`, `db.startTransaction()`), which a unit refuses.
 */
const unitDriver: Driver = {
  init: async () => {},
  acquireConnection: async () => {
    throw new Error('A unit of work hands out its connection through its executor only')
  },
  releaseConnection: async () => {},
  beginTransaction: refuseTransaction,
  commitTransaction: refuseTransaction,
  rollbackTransaction: refuseTransaction,
  destroy: async () => {},
}

const unitDialect: Dialect = {
  createAdapter: () => new PostgresAdapter(),
  createDriver: () => unitDriver,
  createQueryCompiler: () => new PostgresQueryCompiler(),
  createIntrospector: (db) => new PostgresIntrospector(db),
}

/** Per root database, the turn of the last unit that committed with callbacks (see `#commit`). */
const lastTurn = new WeakMap<object, Promise<void>>()

/** Queues a unit's after-commit callbacks behind those of the units that reached their commit before it. */
function takeTurn(root: object): { previous: Promise<void> | undefined; done: () => void } {
  const previous = lastTurn.get(root)
  let done!: () => void
  const turn = new Promise<void>((resolve) => (done = resolve))
  lastTurn.set(root, turn)
  return { previous, done }
}

/** A SELECT with no locking clause and no CTE (which might write) needs no transaction. */
function isPlainSelect(node: RootOperationNode): boolean {
  if (node.kind !== 'SelectQueryNode') return false
  return !node.with && !(node.endModifiers && node.endModifiers.length > 0)
}

/**
 * Sends `queued` on the transaction's connection, then its COMMIT, without waiting in between: each
 * `executeQuery` reaches the driver synchronously, and so does Kysely's COMMIT once no other statement
 * of the transaction is running (awaited first, below). On PostgreSQL, the guarded client writes a
 * statement issued behind an unanswered one to the server at once (pipeline mode); PGlite runs its
 * queries in call order (its connection keeps that order, see pglite-dialect.ts). A queued statement
 * that fails aborts the transaction, so PostgreSQL answers the COMMIT with a ROLLBACK (which Kysely's
 * PostgreSQL driver reports as `AbortedTransactionError`, and PGlite's does not report at all): the
 * first such failure is what the commit rejects with. The connection is released in either case.
 */
async function commitWith(trx: ControlledTransaction<any>, queued: readonly CompiledQuery[]): Promise<void> {
  // Waits for any statement still running on the transaction, and hands out its connection.
  const connection = await trx.getExecutor().provideConnection(async (c) => c)
  const sent = queued.map((query) => connection.executeQuery(query))
  const committed = trx.commit().execute()
  const results = await Promise.allSettled([...sent, committed])
  for (const result of results) if (result.status === 'rejected') throw result.reason
}

function isCompiledQuery(query: CompiledQuery | Compilable): query is CompiledQuery {
  return typeof (query as Partial<Compilable>).compile !== 'function'
}

/** See {@link UnitOfWork.sendWithCommit}: a parameter the driver might fail to serialize is refused up front. */
function assertPlainParameter(value: unknown): void {
  if (value === null || value === undefined) return
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return
  }
  if (value instanceof Date && !Number.isNaN(value.getTime())) return
  if (value instanceof Uint8Array) return
  if (Array.isArray(value)) {
    for (const item of value) assertPlainParameter(item)
    return
  }
  throw new TypeError('sendWithCommit: parameters must be plain values (strings, numbers, booleans, bigints, dates, byte arrays, null, or arrays of them)')
}
