import { sql, type Kysely } from 'kysely'
import { THROTTLE_EVENTS_TABLE } from './throttle-events-migration.js'
import { waitForRoom, type ThrottleLimit, type ThrottleReservation, type ThrottleStore } from './throttle-store.js'

/**
 * Options of a {@link KyselyThrottleStore}.
 *
 * @example
 * ```ts
 * new KyselyThrottleStore({ db, sweepIntervalMs: 300_000 })
 * ```
 */
export interface KyselyThrottleStoreOptions {
  /**
   * The app's database (PostgreSQL; PGlite works but belongs to one process, where the memory store
   * is simpler). The store runs its own short transactions on it, never the request's.
   */
  readonly db: Kysely<any>
  /** How often expired rows of all keys are deleted (on a `reserve`, at most this often). Default 60 000 ms. */
  readonly sweepIntervalMs?: number
}

/**
 * A {@link ThrottleStore} in the `throttle_events` table ({@link throttleEventsMigration}), so every
 * process of an app that shares the database shares the limits. `reserve` takes a transaction-level
 * advisory lock per key (in key order, so two reservations never deadlock), counts the rows inside
 * their windows, and inserts only if every key has room: concurrent reservations of one key, in any
 * process, are serialized. A key that is already full is refused from one read, without a lock.
 * Times come from the caller's clock; keep the servers' clocks in sync (NTP).
 *
 * Statements are raw SQL with one-word column names, so the store works the same with or without
 * Kysely's `CamelCasePlugin` on the app's database.
 *
 * @example
 * ```ts
 * const store = new KyselyThrottleStore({ db })
 * await app.register(fastkitAuth, { ...auth, loginThrottle: { store }, registrationThrottle: { store } })
 * ```
 */
export class KyselyThrottleStore implements ThrottleStore {
  readonly #db: Kysely<any>
  readonly #sweepIntervalMs: number
  #lastSweep = 0

  constructor(options: KyselyThrottleStoreOptions) {
    this.#db = options.db
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000
  }

  async reserve({ id, at, limits }: { readonly id: string; readonly at: number; readonly limits: readonly ThrottleLimit[] }): Promise<ThrottleReservation> {
    const table = sql.table(THROTTLE_EVENTS_TABLE)
    const now = new Date(at)
    const keys = limits.map((l) => l.key)
    // Under attack most attempts are refused: answer those from one read, without a transaction or a
    // lock. Rows only exist for granted reservations, so a full key seen here is full.
    const seen = await this.#wait(this.#db, limits, at)
    if (seen > 0) return { granted: false, retryAfterMs: seen }
    const result = await this.#db.transaction().execute(async (trx) => {
      for (const key of [...new Set(keys)].sort()) {
        await sql`select pg_advisory_xact_lock(hashtext('fastkit.throttle'), hashtext(${key}))`.execute(trx)
      }
      const wait = await this.#wait(trx, limits, at)
      if (wait > 0) return { granted: false, retryAfterMs: wait } as const
      await sql`delete from ${table} where key = any(${keys}::text[]) and expires <= ${now}`.execute(trx)
      for (const { key, windowMs } of limits) {
        await sql`insert into ${table} (key, id, at, expires) values (${key}, ${id}, ${now}, ${new Date(at + windowMs)})`.execute(trx)
      }
      return { granted: true } as const
    })
    await this.#sweep(at)
    return result
  }

  async release({ id, keys }: { readonly id: string; readonly keys: readonly string[] }): Promise<void> {
    await sql`delete from ${sql.table(THROTTLE_EVENTS_TABLE)} where id = ${id} and key = any(${[...keys]}::text[])`.execute(this.#db)
  }

  async reset({ key }: { readonly key: string }): Promise<void> {
    await sql`delete from ${sql.table(THROTTLE_EVENTS_TABLE)} where key = ${key}`.execute(this.#db)
  }

  /** The longest wait for room among `limits` at `at`, from the rows still inside their windows. */
  async #wait(executor: Kysely<any>, limits: readonly ThrottleLimit[], at: number): Promise<number> {
    const { rows } = await sql<{ key: string; at: Date }>`
      select key, at from ${sql.table(THROTTLE_EVENTS_TABLE)}
      where key = any(${limits.map((l) => l.key)}::text[]) and expires > ${new Date(at)} order by at`.execute(executor)
    let wait = 0
    for (const { key, limit, windowMs } of limits) {
      const times = rows.filter((r) => r.key === key).map((r) => new Date(r.at).getTime())
      wait = Math.max(wait, waitForRoom(times, limit, windowMs, at))
    }
    return wait
  }

  /** Keys nobody tries again keep their expired rows until this runs, at most once per interval. */
  async #sweep(now: number): Promise<void> {
    if (Math.abs(now - this.#lastSweep) < this.#sweepIntervalMs) return
    this.#lastSweep = now
    await sql`delete from ${sql.table(THROTTLE_EVENTS_TABLE)} where expires <= ${new Date(now)}`.execute(this.#db)
  }
}
