import { randomUUID } from 'node:crypto'
import { isHttpError, RateLimitedError } from '../http/errors.js'
import { assertRule, type ThrottleRule } from './login-throttle.js'
import { MemoryThrottleStore, type ThrottleStore } from './throttle-store.js'

/**
 * Options of a {@link RegistrationThrottle}: the limit per address, the store, the clock.
 *
 * @example
 * ```ts
 * new RegistrationThrottle({ perAddress: { limit: 10, windowSeconds: 3600 }, store })
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
 * attempt that reaches it counts (a created account, a taken username alike) and is reserved before
 * `fn` runs; beyond the limit the request is refused with `RateLimitedError` (429 with `Retry-After`)
 * without hashing. Server-side failures (5xx, e.g. a full hash queue) are released, not counted.
 *
 * @example
 * ```ts
 * const throttle = resolve(request.container, RegistrationThrottle)
 * return throttle.attempt({ address: request.ip }, () => service.register(body))
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
    const id = randomUUID()
    const key = `register:address:${args.address}`
    const result = await this.store.reserve({
      id,
      at: this.#now(),
      limits: [{ key, limit: this.perAddress.limit, windowMs: this.perAddress.windowSeconds * 1000 }],
    })
    if (!result.granted) throw new RateLimitedError(result.retryAfterMs / 1000, 'Too many registrations from this address; try again later')
    try {
      return await fn()
    } catch (error) {
      if (!isHttpError(error) || error.status >= 500) await this.store.release({ id, keys: [key] }).catch(() => {})
      throw error
    }
  }
}
