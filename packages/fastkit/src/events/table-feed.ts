import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type RawBuilder } from 'kysely'
import { settled } from '../db/settled.js'
import type { EventBus } from './event-bus.js'

/**
 * Options of a {@link TableFeed}.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 * import type { TableFeedOptions } from 'fastkit'
 *
 * declare const db: Kysely<any>
 * const options: TableFeedOptions<{ id: string; tx: string; body: string }> = {
 *   db,
 *   table: 'events',
 *   order: ['tx', 'id'],
 *   onRows: (rows) => console.log(rows.map((row) => row.body)),
 * }
 * ```
 */
export interface TableFeedOptions<Row> {
  /** The app's database (`app.db`): the feed reads outside any unit of work. */
  readonly db: Kysely<any>
  /** The table it follows. */
  readonly table: string
  /**
   * The columns that order the table's rows, as the `db` names them: first the `xid8` column that
   * records each row's writing transaction (`not null default pg_current_xact_id()`, see
   * `settled`), then columns that order the rows of one transaction, the last of them unique (the
   * id). An index on these columns, in this order, serves every read.
   */
  readonly order: readonly [tx: string, ...rest: string[]]
  /**
   * More select-list expressions computed for each row in the same statement, the row being `t`:
   * what `onRows` needs besides the row (its recipients, say), without a query of its own per batch.
   * Written in SQL, so columns are named as the database names them.
   *
   * @example
   * ```ts
   * import { sql } from 'kysely'
   * const columns = sql`array(select user_id from chat_members m where m.chat_id = t.chat_id) as recipients`
   * ```
   */
  readonly columns?: RawBuilder<unknown>
  /**
   * Computes {@link columns} once per distinct value of this column in each batch instead of once per
   * row (named as the `db` names it): in `columns`, `t` then has this one column. For values that
   * depend only on a row's group, such as the members of a message's chat: a batch of 30 messages to
   * one chat reads its members once, not 30 times.
   *
   * @example
   * ```ts
   * import { sql } from 'kysely'
   * const options = {
   *   columns: sql`array(select user_id from chat_members m where m.chat_id = t.chat_id) as recipients`,
   *   columnsPer: 'chatId',
   * }
   * ```
   */
  readonly columnsPer?: string
  /**
   * Receives the rows that settled since the last call, oldest first, at most `batchSize` at a time;
   * the next call waits for this one. A call that throws (or rejects) is reported to `onError` and
   * made again later with the same rows: the feed does not move past rows it could not hand over.
   */
  readonly onRows: (rows: Row[]) => void | Promise<void>
  /**
   * The app's event bus. {@link TableFeed.wake} tells the feeds of the other processes (through its
   * transport) that rows were written, so they read them at once. Without it, other processes find
   * them at their next poll. Wake-ups go on the wire only once the feed of another process has been
   * heard from: each feed says hello on the bus when it starts, and those already running answer. A
   * process alone sends none (on PostgreSQL each would be a NOTIFY: a transaction of its own).
   */
  readonly bus?: EventBus
  /** Most rows per read and per `onRows` call. Default 500. */
  readonly batchSize?: number
  /**
   * How often the feed reads without being woken, in ms: it finds rows written by another process
   * whose wake-up was lost, or by SQL outside the app. Default 1,000; 0 never polls.
   */
  readonly pollMs?: number
  /** Where failed reads and `onRows` calls are reported (they are retried). Default `console.error`. */
  readonly onError?: (error: unknown) => void
  /**
   * How long the promise of {@link TableFeed.wake} waits, at most, for the transaction's rows to
   * settle and be handed over, in ms. Default 2,000.
   */
  readonly maxWaitMs?: number
}

/**
 * What the feed sends on the bus: "rows of this transaction (or some) were written to the table";
 * with `hello`, also "a feed of this table just started here: answer, so that I know you exist".
 */
interface WakeData {
  readonly tx: string | null
  /** The sending feed's id: `publish` delivers to the sender's own process too. */
  readonly from?: string
  readonly hello?: true
}

const WAKE = 'fastkit.feed.wake'
const CURSOR = 'fkfeed'
const HORIZON = 'fkhorizon'
/** The column a `columnsPer` group is joined on. */
const GROUP = 'fkgroup'
// A row committed but not settled yet waits for older transactions to end: read again soon, then less often.
const SETTLE_RETRY_MS = [1, 2, 5, 10, 20, 50] as const
const ERROR_RETRY_MS = [100, 200, 500, 1_000, 2_000, 5_000] as const

/**
 * Follows a table in a stable order, in every process: each process's feed reads the rows that
 * settled since its last read and hands them to `onRows`, oldest first, each once. It is the
 * transactional outbox of real-time delivery without a lock: writers only insert (no lock held to
 * COMMIT, so they commit in parallel), and every process derives the same event stream from the
 * table itself.
 *
 * **Order.** Rows are ordered by `order`: their writing transaction's id first (`xid8`), and the feed
 * reads only *settled* rows (see `settled`): those older than every transaction still running. A row
 * committed later always sorts after everything already read, so the feed never skips one, and a
 * reader paging with the same order and the same `settled` filter (a catch-up after a reconnect)
 * sees exactly the same sequence. The order is the order in which transactions *began writing*: two
 * transactions that overlap may commit the other way round, and each is delivered once the older has
 * ended. A transaction that stays open holds back every row written after it began (in the whole
 * cluster): keep transactions short.
 *
 * **When.** {@link wake} after a commit that wrote rows reads at once in this process and, through
 * the bus, in the others (once one has been heard from; a process alone sends nothing); rows that
 * are committed but not yet settled are read again after 1–50 ms. A poll (`pollMs`) is the safety
 * net. Reads and `onRows` calls run one at a time. After {@link start}, the feed hands over only rows
 * that settle from then on.
 *
 * **Failures.** A read or an `onRows` call that fails is reported to `onError` and retried (100 ms,
 * growing to 5 s) from the same position: a database outage delays rows, it loses none.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { TableFeed, userTopic } from 'fastkit'
 *
 * const app = Fastify()
 * // after fastkit and fastkitEvents are registered; messages has tx xid8 default pg_current_xact_id()
 * const feed = new TableFeed<{ id: string; tx: string; chatId: string; recipientId: string; text: string }>({
 *   db: app.db,
 *   table: 'messages',
 *   order: ['tx', 'id'],
 *   bus: app.events,
 *   onRows: (rows) =>
 *     app.events.deliver(rows.map((row) => ({ topics: [userTopic(row.recipientId)], type: 'message.created', data: row }))),
 * })
 * await feed.start()
 * app.addHook('onClose', () => feed.close())
 * // in a service, after the insert (the response then waits until the row settled and went out):
 * // uow.afterCommit(() => feed.wake(message.tx))
 * ```
 */
export class TableFeed<Row = Record<string, unknown>> {
  readonly #db: Kysely<any>
  readonly #table: string
  readonly #order: readonly string[]
  readonly #columns: RawBuilder<unknown> | undefined
  readonly #columnsPer: string | undefined
  readonly #onRows: (rows: Row[]) => void | Promise<void>
  readonly #bus: EventBus | undefined
  readonly #batchSize: number
  readonly #pollMs: number
  readonly #onError: (error: unknown) => void
  readonly #topic: string
  /** The `::text` of the last handed-over row's order values; undefined before the first. */
  #cursor: readonly string[] | undefined
  /** The newest transaction announced as committed, and the horizon of the last read. */
  #announced = 0n
  #horizon = 0n
  #reading: Promise<void> | undefined
  #again = false
  #retry: NodeJS.Timeout | undefined
  #settleAttempts = 0
  #errorAttempts = 0
  #poll: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined
  #outgoing: bigint | null | undefined
  /** Transactions below this have had all their rows handed over; `wake`'s promises wait for it. */
  #handedBelow = 0n
  readonly #waiters = new Set<{ readonly tx: bigint; readonly resolve: () => void; readonly timer: NodeJS.Timeout }>()
  readonly #maxWaitMs: number
  #publishing = false
  /** Whether the feed of another process has been heard from: only then do wake-ups go on the wire. */
  #peers = false
  /** This feed's id on the bus. */
  readonly #id = randomUUID()
  #state: 'new' | 'started' | 'closed' = 'new'
  /** Whether the table's end was read: until then, the cursor is not a position to read after. */
  #positioned = false

  constructor(options: TableFeedOptions<Row>) {
    if (options.order.length === 0) throw new TypeError('A table feed needs its order columns, the xid8 column first')
    this.#db = options.db
    this.#table = options.table
    this.#order = options.order
    this.#columns = options.columns
    this.#columnsPer = options.columnsPer
    if (this.#columnsPer !== undefined && !this.#columns) throw new TypeError('A table feed\'s columnsPer needs columns')
    this.#onRows = options.onRows
    this.#bus = options.bus
    this.#batchSize = options.batchSize ?? 500
    this.#pollMs = options.pollMs ?? 1_000
    this.#onError = options.onError ?? ((error) => console.error('fastkit: table feed error', error))
    this.#topic = `fastkit.feed:${options.table}`
    this.#maxWaitMs = options.maxWaitMs ?? 2_000
  }

  /**
   * Starts following the table from its current end: rows settled now are not handed over, rows that
   * settle from now on are. Resolves once the end was read, or, when the database cannot be read (it
   * is down, the table not migrated yet), at once: the failure goes to `onError` and the feed keeps
   * trying (100 ms, growing to 5 s), starting from the end it finds then. Rows written before that are
   * not handed over: a client that was told nothing catches up from the table.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`This table feed was already ${this.#state}`)
    this.#state = 'started'
    this.#unsubscribe = this.#bus?.subscribe(this.#topic, (message) => {
      const data = message.data as WakeData | null
      if (data?.from === this.#id) return
      this.#peers = true
      if (data?.hello) void this.#send({ tx: null })
      this.#heard(data?.tx ?? null)
    })
    void this.#send({ tx: null, hello: true })
    if (this.#pollMs > 0) {
      this.#poll = setInterval(() => this.#read(), this.#pollMs)
      this.#poll.unref()
    }
    this.#read()
    await this.#reading
  }

  /** Reads the table's current end (its last settled row) as the position to follow from. */
  async #findEnd(): Promise<void> {
    const last = await this.#query(sql`
      select ${this.#cursorColumns()} from ${sql.table(this.#table)} as t
      where ${settled(`t.${this.#order[0]!}`)}
      order by ${sql.join(this.#order.map((column) => sql`${this.#ref(column)} desc`))}
      limit 1`)
    if (last[0]) this.#cursor = this.#order.map((_, i) => String(last[0]![`${CURSOR}${i}`]))
    this.#positioned = true
  }

  /**
   * Says that rows were committed (by transaction `tx`, the value of their xid8 column, when known):
   * this process's feed reads them at once, and the other processes' feeds are told through the bus.
   * Call it after the commit (`uow.afterCommit`); before it, the rows are not there to read yet.
   *
   * Resolves once those rows have settled and this process's feed has handed them over (or at once
   * without `tx`; or after `maxWaitMs`, or when the feed closes; it never rejects). Awaited before a
   * response, it makes everything a client can see of the write settled: a client that anchors a
   * catch-up on the row it just wrote then misses none that sorts before it.
   */
  wake(tx?: string | bigint): Promise<void> {
    if (this.#state !== 'started') return Promise.resolve()
    this.#heard(tx === undefined ? null : String(tx))
    if (this.#peers) {
      const announced = tx === undefined ? null : BigInt(tx)
      // One wake-up on the wire at a time, carrying the newest transaction announced meanwhile.
      this.#outgoing = this.#outgoing === undefined || announced === null || (this.#outgoing !== null && announced > this.#outgoing) ? announced : this.#outgoing
      if (!this.#publishing) void this.#publishWakes()
    }
    return tx === undefined ? Promise.resolve() : this.#handedOver(BigInt(tx))
  }

  /** Stops reading and polling; waits for a read (and its `onRows` call) in progress. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    clearInterval(this.#poll)
    clearTimeout(this.#retry)
    this.#unsubscribe?.()
    this.#release(undefined)
    await this.#reading
  }

  /** Resolves once every row of transactions up to `tx` was handed over, or after `maxWaitMs`. */
  #handedOver(tx: bigint): Promise<void> {
    if (tx < this.#handedBelow) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const waiter = { tx, resolve, timer: setTimeout(() => this.#waiters.delete(waiter) && resolve(), this.#maxWaitMs) }
      waiter.timer.unref()
      this.#waiters.add(waiter)
    })
  }

  /** Resolves the waiters whose rows were all handed over: every one, when `below` is undefined. */
  #release(below: bigint | undefined): void {
    for (const waiter of this.#waiters) {
      if (below !== undefined && waiter.tx >= below) continue
      clearTimeout(waiter.timer)
      this.#waiters.delete(waiter)
      waiter.resolve()
    }
  }

  async #publishWakes(): Promise<void> {
    this.#publishing = true
    try {
      while (this.#outgoing !== undefined && this.#state === 'started') {
        const tx = this.#outgoing
        this.#outgoing = undefined
        await this.#send({ tx: tx === null ? null : String(tx) })
      }
    } finally {
      this.#publishing = false
    }
  }

  /** Puts `data` on the bus for the feeds of the other processes (a no-op without a bus). */
  async #send(data: Omit<WakeData, 'from'>): Promise<void> {
    try {
      await this.#bus?.publish({ topics: [this.#topic], type: WAKE, data: { ...data, from: this.#id } })
    } catch (error) {
      // publish throws only on a closed bus: the app is shutting down.
      this.#onError(error)
    }
  }

  /** A wake-up, local or from another process. One for a transaction already known changes nothing. */
  #heard(tx: string | null): void {
    if (tx !== null) {
      const announced = BigInt(tx)
      // Settled at the last read, which handed its rows over.
      if (announced < this.#horizon) return
      // Known already: while an announced transaction has not settled, a read or a retry is pending.
      if (announced <= this.#announced) return
      this.#announced = announced
    }
    this.#read()
  }

  #read(): void {
    if (this.#state !== 'started') return
    if (this.#reading) {
      this.#again = true
      return
    }
    clearTimeout(this.#retry)
    this.#retry = undefined
    this.#reading = this.#readAll().finally(() => (this.#reading = undefined))
  }

  async #readAll(): Promise<void> {
    try {
      if (!this.#positioned) await this.#findEnd()
      do {
        this.#again = false
        const handed = await this.#readBatch()
        if (handed === this.#batchSize) this.#again = true
      } while (this.#again && this.#state === 'started')
      this.#errorAttempts = 0
      // Every settled row (all transactions below the horizon) has been handed over.
      this.#handedBelow = this.#horizon
      if (this.#waiters.size > 0) this.#release(this.#horizon)
      // A transaction announced as committed whose rows have not settled: older ones still run.
      if (this.#announced >= this.#horizon) this.#retryIn(SETTLE_RETRY_MS[Math.min(this.#settleAttempts++, SETTLE_RETRY_MS.length - 1)]!)
      else this.#settleAttempts = 0
    } catch (error) {
      this.#onError(error)
      this.#retryIn(ERROR_RETRY_MS[Math.min(this.#errorAttempts++, ERROR_RETRY_MS.length - 1)]!)
    }
  }

  #retryIn(ms: number): void {
    if (this.#state !== 'started') return
    this.#retry = setTimeout(() => this.#read(), ms)
    this.#retry.unref()
  }

  /** Reads one batch of settled rows after the cursor and hands it over; returns how many there were. */
  async #readBatch(): Promise<number> {
    const after = this.#cursor
      ? sql`(${sql.join(this.#order.map((column) => this.#ref(column)))}) > (${sql.join(this.#cursor.map((value) => sql`${value}`))})`
      : sql`true`
    const order = (table: string) => sql.join(this.#order.map((column) => sql.ref(`${table}.${column}`)))
    const per = this.#columnsPer
    const perRow = this.#columns && per === undefined ? sql`${this.#columns}, ` : sql``
    // One horizon for the whole read: the filter and the value reported use the same snapshot's.
    const result = await this.#query(sql`
      with h as (select pg_snapshot_xmin(pg_current_snapshot()) as ${sql.id(HORIZON)}),
      r as (
        select t.*, ${perRow}${this.#cursorColumns()} from ${sql.table(this.#table)} as t
        where ${after} and ${this.#ref(this.#order[0]!)} < (select ${sql.id(HORIZON)} from h)
        order by ${order('t')}
        limit ${this.#batchSize}
      )${
        per === undefined
          ? sql``
          : // Materialized: computed once, not again for each row it is joined to.
            sql`, g as materialized (
        select ${sql.ref(`t.${per}`)} as ${sql.id(GROUP)}, ${this.#columns} from (select distinct ${sql.ref(per)} from r) as t
      )`
      }
      select h.${sql.id(HORIZON)}::text as ${sql.id(HORIZON)}, r.*${per === undefined ? sql`` : sql`, g.*`} from h
      left join r on true${per === undefined ? sql`` : sql` left join g on g.${sql.id(GROUP)} = ${sql.ref(`r.${per}`)}`}
      order by ${order('r')}`)
    this.#horizon = BigInt(String(result[0]![HORIZON]))
    const found = result.filter((row) => row[`${CURSOR}0`] !== null && row[`${CURSOR}0`] !== undefined)
    if (found.length === 0) return 0
    const last = found.at(-1)!
    const cursor = this.#order.map((_, i) => String(last[`${CURSOR}${i}`]))
    const hidden = new Set([HORIZON, GROUP, ...this.#order.map((_, i) => `${CURSOR}${i}`)])
    const fields = Object.keys(found[0]!).filter((key) => !hidden.has(key))
    const rows = found.map((row) => {
      const copy: Record<string, unknown> = {}
      for (const field of fields) copy[field] = row[field]
      return copy as Row
    })
    if (this.#state !== 'started') return 0
    await this.#onRows(rows)
    this.#cursor = cursor
    return rows.length
  }

  async #query(query: RawBuilder<unknown>): Promise<Record<string, unknown>[]> {
    return (await query.execute(this.#db)).rows as Record<string, unknown>[]
  }

  #ref(column: string): RawBuilder<unknown> {
    return sql.ref(`t.${column}`)
  }

  #cursorColumns(): RawBuilder<unknown> {
    return sql.join(this.#order.map((column, i) => sql`${this.#ref(column)}::text as ${sql.id(`${CURSOR}${i}`)}`))
  }
}
