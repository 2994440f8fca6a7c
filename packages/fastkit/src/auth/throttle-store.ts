/**
 * Where {@link LoginThrottle} keeps its failure timestamps. fastkit ships {@link MemoryThrottleStore}
 * (one process); a shared store (Redis: a sorted set per key, `ZADD` / `ZRANGEBYSCORE` / `PEXPIRE`)
 * makes the limits hold across processes. Each method takes one readonly args object.
 *
 * @example
 * ```ts
 * await store.record({ key: 'user:alice', at: Date.now(), windowMs: 900_000 })
 * const recent = await store.recent({ key: 'user:alice', since: Date.now() - 900_000 })
 * ```
 */
export interface ThrottleStore {
  /** Records one event for `key` at `at` (ms since epoch); the store may forget it after `windowMs`. */
  record(args: { readonly key: string; readonly at: number; readonly windowMs: number }): Promise<void>
  /** The timestamps of `key`'s events after `since`, oldest first. */
  recent(args: { readonly key: string; readonly since: number }): Promise<readonly number[]>
  /** Forgets every event of `key`. */
  reset(args: { readonly key: string }): Promise<void>
}

/**
 * Bounds of a {@link MemoryThrottleStore}, so memory stays limited under a flood of distinct keys.
 *
 * @example
 * ```ts
 * new MemoryThrottleStore({ maxKeys: 10_000, maxEventsPerKey: 100 })
 * ```
 */
export interface MemoryThrottleStoreOptions {
  /** Most keys kept; beyond it, expired keys are swept and then the oldest dropped. Default 100 000. */
  readonly maxKeys?: number
  /** Most events kept per key (older ones are dropped). Default 1 000. */
  readonly maxEventsPerKey?: number
}

interface Entry {
  events: number[]
  expiresAt: number
}

/**
 * An in-process {@link ThrottleStore}: a sliding log of timestamps per key, bounded in keys and in
 * events per key, so a flood of distinct usernames cannot grow memory without limit. Limits apply per
 * process; use a shared store when several processes serve one app.
 *
 * @example
 * ```ts
 * new LoginThrottle({ store: new MemoryThrottleStore({ maxKeys: 10_000 }) })
 * ```
 */
export class MemoryThrottleStore implements ThrottleStore {
  readonly #entries = new Map<string, Entry>()
  readonly #maxKeys: number
  readonly #maxEvents: number

  constructor(options: MemoryThrottleStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000
    this.#maxEvents = options.maxEventsPerKey ?? 1_000
  }

  /** How many keys are held (for tests and metrics). */
  get size(): number {
    return this.#entries.size
  }

  async record({ key, at, windowMs }: { readonly key: string; readonly at: number; readonly windowMs: number }): Promise<void> {
    let entry = this.#entries.get(key)
    if (!entry) {
      if (this.#entries.size >= this.#maxKeys) this.#evict(at)
      entry = { events: [], expiresAt: 0 }
      this.#entries.set(key, entry)
    }
    const cutoff = at - windowMs
    entry.events = entry.events.filter((t) => t > cutoff)
    entry.events.push(at)
    if (entry.events.length > this.#maxEvents) entry.events.splice(0, entry.events.length - this.#maxEvents)
    entry.expiresAt = Math.max(entry.expiresAt, at + windowMs)
  }

  async recent({ key, since }: { readonly key: string; readonly since: number }): Promise<readonly number[]> {
    const entry = this.#entries.get(key)
    return entry ? entry.events.filter((t) => t > since) : []
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
