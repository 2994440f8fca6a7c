import { isHttpError, RateLimitedError } from '../http/errors.js'
import { MemoryThrottleStore, type ThrottleStore } from './throttle-store.js'

/** At most `limit` failures within `windowSeconds` (a sliding window). */
export interface ThrottleRule {
  readonly limit: number
  readonly windowSeconds: number
}

/**
 * Options of a {@link LoginThrottle}: the limits per username and per address, the store, the clock.
 *
 * @example
 * ```ts
 * new LoginThrottle({ perUsername: { limit: 5, windowSeconds: 900 }, perAddress: { limit: 30, windowSeconds: 900 } })
 * ```
 */
export interface LoginThrottleOptions {
  /** Failures allowed per username (case-insensitive). Default 5 per 15 minutes. */
  readonly perUsername?: ThrottleRule
  /** Failures allowed per client address. Default 30 per 15 minutes. */
  readonly perAddress?: ThrottleRule
  /** Default: a {@link MemoryThrottleStore}. */
  readonly store?: ThrottleStore
  /** The clock, in ms since epoch. Injectable so tests can travel in time. */
  readonly now?: () => number
}

/** Who is trying to log in: the submitted username and the client's address (`request.ip`). */
export interface LoginAttempt {
  readonly username: string
  readonly address: string
}

/**
 * Throttles repeated login *failures* per username and per client address: once a key has `limit`
 * failures inside its sliding window, every further attempt on it, right or wrong, is refused with
 * `RateLimitedError` (429 with `Retry-After`) until the oldest of those failures leaves the window,
 * and is not even checked, so no password guess gets through. A successful login clears the
 * username's failures (not the address's: one address may try many usernames).
 *
 * Why not `@fastify/rate-limit`: it counts requests, at the start of the request, and cannot tell a
 * failed login from a successful one or reset on success; it remains the right tool for a general
 * per-address request rate and can be used beside this.
 *
 * Unknown usernames are throttled exactly like known ones (no user enumeration). Note the usual
 * trade-off: anyone can make a username wait for the window by failing on purpose; keep windows
 * short. Concurrent attempts that all pass {@link check} before any failure is recorded may exceed
 * the limit by the concurrency; argon2's cost bounds that. Set Fastify's `trustProxy` so `request.ip`
 * is the client behind your proxy.
 *
 * @example
 * ```ts
 * const throttle = request.container.resolve(LoginThrottle)
 * // Checks first, records a failure when fn throws UnauthorizedError, clears the username on success:
 * const tokens = await throttle.attempt({ username, address: request.ip }, () => auth.login(username, password))
 * ```
 */
export class LoginThrottle {
  readonly perUsername: ThrottleRule
  readonly perAddress: ThrottleRule
  readonly #store: ThrottleStore
  readonly #now: () => number

  constructor(options: LoginThrottleOptions = {}) {
    this.perUsername = options.perUsername ?? { limit: 5, windowSeconds: 15 * 60 }
    this.perAddress = options.perAddress ?? { limit: 30, windowSeconds: 15 * 60 }
    for (const rule of [this.perUsername, this.perAddress]) {
      if (!(rule.limit >= 1) || !(rule.windowSeconds > 0)) throw new RangeError('LoginThrottle: limit must be >= 1 and windowSeconds > 0')
    }
    this.#store = options.store ?? new MemoryThrottleStore()
    this.#now = options.now ?? Date.now
  }

  /** Throws `RateLimitedError` if the username or the address is over its limit. */
  async check(attempt: LoginAttempt): Promise<void> {
    const now = this.#now()
    const waits = await Promise.all(this.#keys(attempt).map(([key, rule]) => this.#waitMs(key, rule, now)))
    const wait = Math.max(...waits)
    if (wait > 0) throw new RateLimitedError(wait / 1000, 'Too many failed login attempts; try again later')
  }

  /** Records a failed attempt against both the username and the address. */
  async recordFailure(attempt: LoginAttempt): Promise<void> {
    const at = this.#now()
    await Promise.all(this.#keys(attempt).map(([key, rule]) => this.#store.record({ key, at, windowMs: rule.windowSeconds * 1000 })))
  }

  /** Records a successful login: the username's failures are forgotten. */
  async recordSuccess(attempt: LoginAttempt): Promise<void> {
    await this.#store.reset({ key: usernameKey(attempt.username) })
  }

  /**
   * Runs one login attempt under the throttle: {@link check}, then `fn`; if `fn` throws an
   * `UnauthorizedError` the failure is recorded and the error rethrown, if it resolves the success
   * is recorded. Other errors (a 400, a database outage) are not counted.
   */
  async attempt<T>(attempt: LoginAttempt, fn: () => Promise<T>): Promise<T> {
    await this.check(attempt)
    let result: T
    try {
      result = await fn()
    } catch (error) {
      if (isHttpError(error) && error.status === 401) await this.recordFailure(attempt)
      throw error
    }
    await this.recordSuccess(attempt)
    return result
  }

  #keys(attempt: LoginAttempt): [string, ThrottleRule][] {
    return [
      [usernameKey(attempt.username), this.perUsername],
      [`address:${attempt.address}`, this.perAddress],
    ]
  }

  async #waitMs(key: string, rule: ThrottleRule, now: number): Promise<number> {
    const windowMs = rule.windowSeconds * 1000
    const events = await this.#store.recent({ key, since: now - windowMs })
    if (events.length < rule.limit) return 0
    // Allowed again once all but (limit - 1) of these failures have left the window.
    const freeing = events[events.length - rule.limit]!
    return Math.max(1, freeing + windowMs - now)
  }
}

function usernameKey(username: string): string {
  // Usernames are unique case-insensitively; long input is cut, not rejected (the route validates it).
  return `user:${String(username).toLowerCase().slice(0, 256)}`
}
