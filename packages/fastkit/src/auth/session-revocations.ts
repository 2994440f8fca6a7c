/**
 * Sessions that ended before their access tokens expired: either some sessions (`sessionIds`, the
 * `sid` claims: refresh-token families) or every session of a user (`userId`, e.g. a deleted account).
 * `until` (epoch milliseconds) is when every access token it covers has expired anyway.
 */
export interface SessionEnd {
  /** Sessions that ended (`sid` claims). */
  readonly sessionIds?: readonly string[]
  /** Every session of this user ended (tokens with this `sub`, whatever their `sid`). */
  readonly userId?: string
  /** Why, for logs and WebSocket close reasons: `logout`, `reuse`, `account-deleted`… */
  readonly reason: string
  /** Epoch milliseconds after which the entry can be forgotten. */
  readonly until: number
}

/** What a token is checked by: its `sub` and, when it has one, its `sid`. */
export interface SessionClaims {
  readonly sub: string
  readonly sid?: string | undefined
}

/**
 * The topic session ends travel on between the processes of an app (on the app's event bus).
 *
 * @example
 * ```ts
 * app.events.subscribe(SESSION_EVENTS_TOPIC, (message) => console.log(message.type)) // 'session.ended'
 * ```
 */
export const SESSION_EVENTS_TOPIC = 'fastkit:sessions'

/** Options of {@link SessionRevocations}. */
export interface SessionRevocationsOptions {
  /** Access-token lifetime in seconds: how long a revoked session must be remembered. */
  readonly accessTokenTtlSeconds: number
  /** Extra seconds an entry is kept, for clock skew between processes and `clockTolerance`. Default 60. */
  readonly marginSeconds?: number
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * The sessions of this process that ended early, in memory: access tokens are checked against it on
 * every request with two map lookups and no database query.
 *
 * Each entry lives only as long as an access token it covers could: `until` is the end time plus the
 * access-token lifetime (plus a margin), after which an expired `exp` refuses the token anyway. So the
 * set holds at most the sessions ended in the last `accessTokenTtlSeconds`.
 *
 * {@link end} records an end here and hands it to the publisher that {@link connect} set (the auth
 * plugin connects the app's event bus, so other processes {@link apply} it within the bus's latency);
 * listeners ({@link onEnd}, e.g. the WebSocket gateway closing sockets) hear both.
 *
 * `fastkitAuth` registers one in `app.container` (the class is its own DI token).
 *
 * @example
 * ```ts
 * const revocations = resolve(app.container, SessionRevocations)
 * const { familyId } = await resolve(request.container, RefreshTokens).issue({ userId: user.id })
 * revocations.end({ sessionIds: [familyId], reason: 'logout' })
 * revocations.isRevoked({ sub: user.id, sid: familyId }) // true, until that login's last token expired
 * ```
 */
export class SessionRevocations {
  readonly #sessions = new Map<string, number>()
  readonly #users = new Map<string, number>()
  readonly #listeners = new Set<(end: SessionEnd) => void>()
  readonly #ttlMs: number
  readonly #marginMs: number
  readonly #now: () => number
  #publish: ((end: SessionEnd) => void) | undefined
  #sweeps = 0
  #loader: (() => Promise<void>) | undefined
  #loading: Promise<void> | undefined

  constructor(options: SessionRevocationsOptions) {
    this.#ttlMs = options.accessTokenTtlSeconds * 1000
    this.#marginMs = (options.marginSeconds ?? 60) * 1000
    this.#now = options.now ?? Date.now
  }

  /** When an entry for a session that ended at `endedAt` (epoch ms, default now) may be dropped. */
  untilFor(endedAt: number = this.#now()): number {
    return endedAt + this.#ttlMs + this.#marginMs
  }

  /** How many entries the set holds (sessions plus users). */
  get size(): number {
    return this.#sessions.size + this.#users.size
  }

  /**
   * Ends sessions now, in this process and (through the connected publisher) in every other one.
   * Call it after the revocation committed (the refresh-token store is what a new process loads).
   */
  end(args: { readonly sessionIds?: readonly string[]; readonly userId?: string; readonly reason: string }): SessionEnd {
    const end: SessionEnd = {
      ...(args.sessionIds ? { sessionIds: [...args.sessionIds] } : {}),
      ...(args.userId !== undefined ? { userId: args.userId } : {}),
      reason: args.reason,
      until: this.untilFor(),
    }
    this.apply(end)
    this.#publish?.(end)
    return end
  }

  /** Records an end that happened elsewhere (another process, or the store at start-up). Idempotent. */
  apply(end: SessionEnd): void {
    if (!isSessionEnd(end) || end.until <= this.#now()) return
    for (const id of end.sessionIds ?? []) this.#sessions.set(id, Math.max(end.until, this.#sessions.get(id) ?? 0))
    if (end.userId !== undefined) this.#users.set(end.userId, Math.max(end.until, this.#users.get(end.userId) ?? 0))
    if (++this.#sweeps % 256 === 0) this.sweep()
    for (const listener of this.#listeners) {
      try {
        listener(end)
      } catch {
        // A listener's failure must not stop the others from hearing it.
      }
    }
  }

  /** Whether a token with these claims belongs to a session that ended. */
  isRevoked(claims: SessionClaims): boolean {
    const now = this.#now()
    return isLive(this.#users, claims.sub, now) || (claims.sid !== undefined && isLive(this.#sessions, claims.sid, now))
  }

  /** Calls `listener` for every end, local or remote. Returns the function that stops it. */
  onEnd(listener: (end: SessionEnd) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Sets how the ends recorded before this process started are loaded (the auth plugin reads the
   * refresh-token store). The load runs on the first {@link ready} call, so an app that never
   * authenticates never queries, and a database that is away does not stop the start.
   */
  loadWith(loader: () => Promise<void>): void {
    this.#loader = loader
    this.#loading = undefined
  }

  /**
   * `undefined` once the earlier ends are loaded (or there is nothing to load), else the promise of
   * the load, started by the first call. A failed load rejects that call and is retried by the next.
   */
  ready(): Promise<void> | undefined {
    const loader = this.#loader
    if (!loader) return undefined
    this.#loading ??= loader().then(
      () => {
        if (this.#loader === loader) this.#loader = undefined
      },
      (error: unknown) => {
        this.#loading = undefined
        throw error
      },
    )
    return this.#loading
  }

  /** Sets where {@link end} sends ends for the other processes (the auth plugin passes the event bus). */
  connect(publish: ((end: SessionEnd) => void) | undefined): void {
    this.#publish = publish
  }

  /** Drops every entry whose tokens have expired anyway. Runs by itself every few hundred ends. */
  sweep(): void {
    const now = this.#now()
    for (const map of [this.#sessions, this.#users]) for (const [key, until] of map) if (until <= now) map.delete(key)
  }
}

function isLive(map: Map<string, number>, key: string, now: number): boolean {
  const until = map.get(key)
  if (until === undefined) return false
  if (until > now) return true
  map.delete(key)
  return false
}

/** What arrives on the bus is JSON from another process: check its shape before trusting it. */
function isSessionEnd(value: unknown): value is SessionEnd {
  if (typeof value !== 'object' || value === null) return false
  const end = value as Record<string, unknown>
  if (typeof end.until !== 'number' || typeof end.reason !== 'string') return false
  if (end.userId !== undefined && typeof end.userId !== 'string') return false
  if (end.sessionIds !== undefined && !(Array.isArray(end.sessionIds) && end.sessionIds.every((id) => typeof id === 'string'))) return false
  return end.userId !== undefined || end.sessionIds !== undefined
}
