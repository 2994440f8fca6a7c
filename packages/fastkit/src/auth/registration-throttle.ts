import { randomUUID } from 'node:crypto'
import { RateLimitedError } from '../http/errors.js'
import { assertRule, type ThrottleRule } from './login-throttle.js'
import { MemoryThrottleStore, type ThrottleStore } from './throttle-store.js'

/**
 * Options of a {@link RegistrationThrottle}: the limit per address, the store, the clock.
 *
 * @example
 * ```ts
 * new RegistrationThrottle({ perAddress: { limit: 10, windowSeconds: 3600 }, store: new MemoryThrottleStore() })
 * ```
 */
export interface RegistrationThrottleOptions {
  /** Registrations allowed per client address. Default 30 per hour. */
  readonly perAddress?: ThrottleRule
  /** Default: a {@link MemoryThrottleStore} (one process); share one store across processes. */
  readonly store?: ThrottleStore
  /** The clock, in ms since epoch. Injectable so tests can travel in time. */
  readonly now?: () => number
}

/**
 * Limits account registrations per client address: each registration costs an argon2 hash, so an
 * unlimited stream of them from one address is a cheap way to keep the server's cores busy. Every
 * attempt that reaches it counts, whatever its outcome (a created account, a taken username, a 503
 * from a full hash queue: a flood must not escape the limit by being refused otherwise), and is
 * reserved before `fn` runs; beyond the limit the request is refused with `RateLimitedError` (429 with
 * `Retry-After`) without hashing.
 *
 * @example
 * ```ts
 * declare function createAccount(body: unknown): Promise<{ id: string }> // your code
 * app.post('/register', async (request) => {
 *   const throttle = resolve(request.container, RegistrationThrottle)
 *   return throttle.attempt({ address: request.ip }, () => createAccount(request.body)) // 429 beyond the limit
 * })
 * ```
 */
export class RegistrationThrottle {
  readonly perAddress: ThrottleRule
  readonly store: ThrottleStore
  readonly #now: () => number

  constructor(options: RegistrationThrottleOptions = {}) {
    this.perAddress = options.perAddress ?? { limit: 30, windowSeconds: 60 * 60 }
    assertRule('RegistrationThrottle', this.perAddress)
    this.store = options.store ?? new MemoryThrottleStore()
    this.#now = options.now ?? Date.now
  }

  /** Counts one registration from `address` and runs `fn`, or throws `RateLimitedError` (429) at the limit. */
  async attempt<T>(args: { readonly address: string }, fn: () => Promise<T>): Promise<T> {
    const key = `register:address:${args.address}`
    const result = await this.store.reserve({
      id: randomUUID(),
      at: this.#now(),
      limits: [{ key, limit: this.perAddress.limit, windowMs: this.perAddress.windowSeconds * 1000 }],
    })
    if (!result.granted) throw new RateLimitedError(result.retryAfterMs / 1000, 'Too many registrations from this address; try again later')
    return fn()
  }
}
