/**
 * One limit a reservation must fit under: at most `limit` events of `key` within `windowMs`.
 *
 * @example
 * ```ts
 * const limit: ThrottleLimit = { key: 'login:user:alice', limit: 5, windowMs: 900_000 }
 * ```
 */
export interface ThrottleLimit {
  readonly key: string
  readonly limit: number
  readonly windowMs: number
}

/**
 * What {@link ThrottleStore.reserve} answers: granted (the event is recorded under every key), or
 * refused with the time until the fullest key frees a slot.
 *
 * @example
 * ```ts
 * const store = new MemoryThrottleStore()
 * const limits = [{ key: `register:address:${request.ip}`, limit: 10, windowMs: 3_600_000 }]
 * const r: ThrottleReservation = await store.reserve({ id: crypto.randomUUID(), at: Date.now(), limits })
 * if (!r.granted) throw new RateLimitedError(r.retryAfterMs / 1000)
 * ```
 */
export type ThrottleReservation = { readonly granted: true } | { readonly granted: false; readonly retryAfterMs: number }

/**
 * Where {@link LoginThrottle} and {@link RegistrationThrottle} keep their counts: a sliding log of
 * events per key. `reserve` is the one operation that must be atomic: it checks every limit and, only
 * if all have room, records the event under every key, as one step, so concurrent attempts (in this
 * process or another sharing the store) cannot all pass a check before any of them is counted.
 *
 * fastkit ships {@link MemoryThrottleStore} (one process), {@link KyselyThrottleStore} (PostgreSQL)
 * and {@link RedisThrottleStore}. Each method takes one readonly args object.
 *
 * @example
 * ```ts
 * import { randomUUID } from 'node:crypto'
 * const store: ThrottleStore = new MemoryThrottleStore()
 * const id = randomUUID()
 * const limits = [{ key: 'login:user:alice', limit: 5, windowMs: 900_000 }]
 * const r = await store.reserve({ id, at: Date.now(), limits })
 * if (r.granted) await store.release({ keys: ['login:user:alice'], id }) // not counted after all
 * ```
 */
export interface ThrottleStore {
  /**
   * If every key has fewer than `limit` events after `at - windowMs`, records event `id` at `at` under
   * every key and grants; otherwise records nothing and refuses with the longest wait.
   */
  reserve(args: { readonly id: string; readonly at: number; readonly limits: readonly ThrottleLimit[] }): Promise<ThrottleReservation>
  /** Removes event `id` from `keys` (a reservation that is not to count). Unknown ids are ignored. */
  release(args: { readonly id: string; readonly keys: readonly string[] }): Promise<void>
  /** Forgets every event of `key`. */
  reset(args: { readonly key: string }): Promise<void>
  /** Releases connections, if the store holds any. The auth plugin calls it when the app closes. */
  close?(): Promise<void>
}

/**
 * The wait until a key whose in-window event times are `times` (oldest first) has room for one more
 * under `limit`: all but `limit - 1` of them must leave the window. 0 when there is room already.
 * Shared by the stores so they compute `Retry-After` the same way.
 */
export function waitForRoom(times: readonly number[], limit: number, windowMs: number, now: number): number {
  if (times.length < limit) return 0
  return Math.max(1, times[times.length - limit]! + windowMs - now)
}

/**
 * Bounds of a {@link MemoryThrottleStore}, so memory stays limited under a flood of distinct keys.
 *
 * @example
 * ```ts
 * new MemoryThrottleStore({ maxKeys: 10_000 })
 * ```
 */
export interface MemoryThrottleStoreOptions {
  /** Most keys kept; beyond it, expired keys are swept and then the oldest dropped. Default 100 000. */
  readonly maxKeys?: number
}

interface Entry {
  events: { at: number; id: string }[]
  expiresAt: number
}

/**
 * An in-process {@link ThrottleStore}: a sliding log of events per key, bounded in keys (a key never
 * holds more events than its limit). Atomic because `reserve` never yields between its check and its
 * write. Limits apply per process: use it for tests and for an embedded PGlite (one process by
 * construction), and a shared store when several processes serve one app.
 *
 * @example
 * ```ts
 * new LoginThrottle({ store: new MemoryThrottleStore({ maxKeys: 10_000 }) })
 * ```
 */
export class MemoryThrottleStore implements ThrottleStore {
  readonly #entries = new Map<string, Entry>()
  readonly #maxKeys: number

  constructor(options: MemoryThrottleStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000
  }

  /** How many keys are held (for tests and metrics). */
  get size(): number {
    return this.#entries.size
  }

  async reserve({ id, at, limits }: { readonly id: string; readonly at: number; readonly limits: readonly ThrottleLimit[] }): Promise<ThrottleReservation> {
    let wait = 0
    for (const { key, limit, windowMs } of limits) {
      const entry = this.#entries.get(key)
      if (!entry) continue
      entry.events = entry.events.filter((e) => e.at > at - windowMs)
      wait = Math.max(wait, waitForRoom(entry.events.map((e) => e.at), limit, windowMs, at))
    }
    if (wait > 0) return { granted: false, retryAfterMs: wait }
    for (const { key, windowMs } of limits) {
      let entry = this.#entries.get(key)
      if (!entry) {
        if (this.#entries.size >= this.#maxKeys) this.#evict(at)
        entry = { events: [], expiresAt: 0 }
        this.#entries.set(key, entry)
      }
      entry.events.push({ at, id })
      entry.expiresAt = Math.max(entry.expiresAt, at + windowMs)
    }
    return { granted: true }
  }

  async release({ id, keys }: { readonly id: string; readonly keys: readonly string[] }): Promise<void> {
    for (const key of keys) {
      const entry = this.#entries.get(key)
      if (entry) entry.events = entry.events.filter((e) => e.id !== id)
    }
  }

  async reset({ key }: { readonly key: string }): Promise<void> {
    this.#entries.delete(key)
  }

  #evict(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key)
    }
    // Still full: drop the keys created first (a Map iterates in insertion order).
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.#maxKeys) break
      this.#entries.delete(key)
    }
  }
}
