import { randomUUID } from 'node:crypto'
import { isHttpError, RateLimitedError } from '../http/errors.js'
import { MemoryThrottleStore, type ThrottleLimit, type ThrottleStore } from './throttle-store.js'

/**
 * At most `limit` counted attempts within `windowSeconds` (a sliding window).
 *
 * @example
 * ```ts
 * const rule: ThrottleRule = { limit: 5, windowSeconds: 900 }
 * ```
 */
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
  /** Attempts (failed or in flight) allowed per username (case-insensitive). Default 5 per 15 minutes. */
  readonly perUsername?: ThrottleRule
  /** Attempts (failed or in flight) allowed per client address. Default 30 per 15 minutes. */
  readonly perAddress?: ThrottleRule
  /** Default: a {@link MemoryThrottleStore} (one process); share one store across processes. */
  readonly store?: ThrottleStore
  /** The clock, in ms since epoch. Injectable so tests can travel in time. */
  readonly now?: () => number
}

/**
 * Who is trying to log in: the submitted username and the client's address (`request.ip`).
 *
 * @example
 * ```ts
 * const body = z.object({ username: z.string(), password: z.string() }).parse(request.body)
 * const attempt: LoginAttempt = { username: body.username, address: request.ip }
 * ```
 */
export interface LoginAttempt {
  readonly username: string
  readonly address: string
}

/**
 * A counted login attempt, from {@link LoginThrottle.reserve}. Settle it once, after the password check.
 *
 * @example
 * ```ts
 * const throttle = resolve(request.container, LoginThrottle)
 * const hasher = resolve(request.container, PasswordHasher)
 * declare const username: string, password: string, hash: string
 * const reservation = await throttle.reserve({ username, address: request.ip })
 * if (await hasher.verify({ hash, password })) await reservation.succeeded()
 * else await reservation.failed()
 * ```
 */
export interface LoginReservation {
  /** The password was right: the username's failures are forgotten, and this attempt frees its address slot. */
  succeeded(): Promise<void>
  /** The password was wrong: the attempt stays counted until it leaves the windows. */
  failed(): Promise<void>
  /** No password was checked after all (bad input, an outage, a full hash queue): the attempt is not counted. */
  cancel(): Promise<void>
}

/**
 * Throttles login attempts per username and per client address. Every attempt is *reserved* before
 * its password is verified: the store checks both limits and records the attempt in one atomic step,
 * so attempts still in flight count as much as failed ones. Beyond a limit an attempt is refused with
 * `RateLimitedError` (429 with `Retry-After`) and never reaches the password hasher, so neither a burst
 * of concurrent guesses nor several processes (sharing a {@link ThrottleStore}) get more than the limit
 * of argon2 verifications. The attempt is then *settled*: a failure stays counted; a success forgets
 * the username's failures and frees its own address slot; an error that is not a wrong password (a 400,
 * an outage, a full hash queue) is released, not counted.
 *
 * Why not `@fastify/rate-limit`: it counts requests, at the start of the request, and cannot tell a
 * failed login from a successful one or reset on success; it remains the right tool for a general
 * per-address request rate and can be used beside this.
 *
 * Unknown usernames are throttled exactly like known ones (no user enumeration). Note the usual
 * trade-off: anyone can make a username wait for the window by failing on purpose; keep windows
 * short. `Retry-After` counts in-flight attempts as failures, so it may overstate the wait by the
 * time they take to settle. Set Fastify's `trustProxy` so `request.ip` is the client behind your proxy.
 *
 * @example
 * ```ts
 * const throttle = resolve(request.container, LoginThrottle)
 * // your code: resolves the user, or throws a 401 for a wrong password
 * declare function verifyPassword(username: string, password: string): Promise<AuthUser>
 * declare const username: string, password: string
 * // Reserves first (429 without verifying when over a limit), settles by fn's outcome:
 * const caller = await throttle.attempt({ username, address: request.ip }, () => verifyPassword(username, password))
 * ```
 */
export class LoginThrottle {
  readonly perUsername: ThrottleRule
  readonly perAddress: ThrottleRule
  readonly store: ThrottleStore
  readonly #now: () => number

  constructor(options: LoginThrottleOptions = {}) {
    this.perUsername = options.perUsername ?? { limit: 5, windowSeconds: 15 * 60 }
    this.perAddress = options.perAddress ?? { limit: 30, windowSeconds: 15 * 60 }
    assertRule('LoginThrottle', this.perUsername)
    assertRule('LoginThrottle', this.perAddress)
    this.store = options.store ?? new MemoryThrottleStore()
    this.#now = options.now ?? Date.now
  }

  /**
   * Counts one attempt against the username and the address, or throws `RateLimitedError` (429) if
   * either is at its limit, counting attempts in flight. Settle the returned reservation once.
   */
  async reserve(attempt: LoginAttempt): Promise<LoginReservation> {
    const id = randomUUID()
    const userKey = usernameKey(attempt.username)
    const addressKey = `login:address:${attempt.address}`
    const limits: ThrottleLimit[] = [
      { key: userKey, limit: this.perUsername.limit, windowMs: this.perUsername.windowSeconds * 1000 },
      { key: addressKey, limit: this.perAddress.limit, windowMs: this.perAddress.windowSeconds * 1000 },
    ]
    const result = await this.store.reserve({ id, at: this.#now(), limits })
    if (!result.granted) throw new RateLimitedError(result.retryAfterMs / 1000, 'Too many failed login attempts; try again later')
    let settled = false
    const once = (fn: () => Promise<void>) => async () => {
      if (settled) return
      settled = true
      await fn()
    }
    return {
      succeeded: once(async () => {
        await Promise.all([this.store.reset({ key: userKey }), this.store.release({ id, keys: [addressKey] })])
      }),
      failed: once(async () => {}),
      cancel: once(() => this.store.release({ id, keys: [userKey, addressKey] })),
    }
  }

  /**
   * Runs one login attempt under the throttle: {@link reserve}, then `fn` (the password check); if `fn`
   * throws an `UnauthorizedError` (401) the attempt stays counted, if it resolves the success is
   * recorded, any other error releases the attempt. Keep `fn` to the check itself: the store runs its
   * own statements, outside the request's transaction.
   */
  async attempt<T>(attempt: LoginAttempt, fn: () => Promise<T>): Promise<T> {
    const reservation = await this.reserve(attempt)
    let result: T
    try {
      result = await fn()
    } catch (error) {
      // The original error matters more than a store hiccup; an attempt that fails to be released stays counted (the safe side).
      const settle = isHttpError(error) && error.status === 401 ? reservation.failed() : reservation.cancel()
      await settle.catch(() => {})
      throw error
    }
    await reservation.succeeded()
    return result
  }
}

/** Throws a `RangeError` for a rule that could never allow anything or never forget. */
export function assertRule(owner: string, rule: ThrottleRule): void {
  if (!(rule.limit >= 1) || !(rule.windowSeconds > 0)) throw new RangeError(`${owner}: limit must be >= 1 and windowSeconds > 0`)
}

function usernameKey(username: string): string {
  // Usernames are unique case-insensitively; long input is cut, not rejected (the route validates it).
  return `login:user:${String(username).toLowerCase().slice(0, 256)}`
}
