import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { token } from '../di/token.js'
import { Database, Logger } from '../di/core-tokens.js'
import { UnauthorizedError } from '../http/errors.js'
import { UnitOfWork } from '../uow/unit-of-work.js'
import { RefreshTokenStore, type StoredRefreshToken } from './refresh-token-store.js'
import { SessionRevocations } from './session-revocations.js'

/** How refresh tokens behave. Registered by the auth plugin from its `refreshTokens` option. */
export interface RefreshTokenConfig {
  /** Lifetime of a login's refresh tokens, counted from the login; rotation does not extend it. */
  readonly ttlSeconds: number
  /** The clock. Injectable so tests can travel in time. */
  readonly now: () => Date
}

/**
 * The app's {@link RefreshTokenConfig} in the DI container.
 *
 * @example
 * ```ts
 * app.container.register(RefreshTokenConfig, { useValue: { ttlSeconds: 86_400, now: () => new Date() } })
 * ```
 */
export const RefreshTokenConfig = token<RefreshTokenConfig>('fastkit.RefreshTokenConfig')

/**
 * Default refresh-token lifetime: 30 days.
 *
 * @example
 * ```ts
 * await app.register(fastkitAuth, { ...auth, refreshTokens: { ttlSeconds: DEFAULT_REFRESH_TOKEN_TTL_SECONDS / 2 } })
 * ```
 */
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60

/** A refresh token just handed out. `token` is the only copy of the secret: give it to the client. */
export interface IssuedRefreshToken {
  /** The opaque token: 32 random bytes, base64url (43 characters). */
  readonly token: string
  readonly userId: string
  /** Identifies the login this token descends from (logout and reuse detection act on it). */
  readonly familyId: string
  /** Absolute expiry of the login. */
  readonly expiresAt: Date
  /** Seconds from now until `expiresAt`. */
  readonly expiresIn: number
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/
const INVALID = 'Invalid refresh token'

/**
 * Refresh-token rotation with reuse detection, per request.
 *
 * - {@link issue} starts a login: a new family and its first token.
 * - {@link rotate} exchanges a current token for its successor in the same family; the old one
 *   stops working. Presenting a token that was already rotated means it leaked (the thief or the
 *   owner used it first), so the whole family is revoked: both parties must log in again.
 * - {@link revoke} (logout) revokes the token's whole family.
 *
 * A revoked family is a session that ended: once the revocation commits, it is handed to
 * {@link SessionRevocations} (when given), so the access tokens of that login (`sid` = family id)
 * are refused at once, in every process, and its WebSockets close.
 *
 * Tokens are opaque random strings; only their SHA-256 is stored. Every failure (unknown, malformed,
 * expired, revoked, reused) is the same `UnauthorizedError('Invalid refresh token')`, so a caller
 * learns nothing about which it was.
 *
 * **Which executor.** Normal operations run through the request's {@link UnitOfWork} (resolved from
 * the request container), so they commit with the response and roll back with an error. The
 * reuse revocation cannot: the request is answered 401, and a 4xx rolls the request's unit back. So
 * `rotate` first rolls the request's unit back (the request fails anyway, and on PGlite, whose single
 * session a held transaction would block, the revocation would otherwise wait forever), then
 * revokes the family in its own `UnitOfWork.run(db, …)` on the root database, committed before the
 * 401 leaves.
 *
 * Resolve it from the request container (the auth plugin registers it), or build it by hand in a
 * script: `new RefreshTokens(uow, db, new KyselyRefreshTokenStore(), { ttlSeconds, now: () => new Date() }, logger)`.
 *
 * @example
 * ```ts
 * class AuthService {
 *   static readonly inject = [UserRepository, RefreshTokens, AccessTokens] as const
 *   constructor(
 *     private readonly users: UserRepository,
 *     private readonly refreshTokens: RefreshTokens,
 *     private readonly accessTokens: AccessTokens,
 *   ) {}
 *
 *   async refresh(refreshToken: string) {
 *     const next = await this.refreshTokens.rotate({ token: refreshToken }) // 401 if not current
 *     const user = await this.users.findById(next.userId)
 *     if (!user) throw new UnauthorizedError('Invalid refresh token') // the user is gone
 *     return { ...this.accessTokens.issue(user), refresh_token: next.token }
 *   }
 * }
 * ```
 */
export class RefreshTokens {
  static readonly inject = [UnitOfWork, Database, RefreshTokenStore, RefreshTokenConfig, Logger, SessionRevocations] as const

  constructor(
    private readonly uow: UnitOfWork,
    private readonly db: Kysely<any>,
    private readonly store: RefreshTokenStore,
    private readonly config: RefreshTokenConfig,
    private readonly logger?: FastifyBaseLogger,
    private readonly revocations?: SessionRevocations,
  ) {}

  /** Starts a login for `userId`: a new family with its first token. */
  async issue(args: { readonly userId: string }): Promise<IssuedRefreshToken> {
    const now = this.config.now()
    const expiresAt = new Date(now.getTime() + this.config.ttlSeconds * 1000)
    return this.#create({ userId: args.userId, familyId: randomUUID(), parentId: null, expiresAt, now })
  }

  /**
   * Exchanges a current refresh token for its successor (same family, same absolute expiry) and marks
   * the old one used. Throws `UnauthorizedError` for any token that is not current; for one that
   * was already rotated, the whole family is revoked first, durably, even though the caller gets a 401.
   */
  async rotate(args: { readonly token: string }): Promise<IssuedRefreshToken> {
    const record = await this.#find(args.token)
    if (!record) throw new UnauthorizedError(INVALID)
    if (record.usedAt) await this.#reuseDetected(record)
    const now = this.config.now()
    if (record.revokedAt || record.expiresAt.getTime() <= now.getTime()) throw new UnauthorizedError(INVALID)
    const successorId = randomUUID()
    // Conditional: of two concurrent rotations of one token, exactly one wins; the other is a reuse.
    const won = await this.store.markUsed({ uow: this.uow, id: record.id, replacedBy: successorId, at: now })
    if (!won) await this.#reuseDetected(record)
    return this.#create({
      id: successorId,
      userId: record.userId,
      familyId: record.familyId,
      parentId: record.id,
      expiresAt: record.expiresAt,
      now,
    })
  }

  /**
   * Logout: revokes the family of `token`. With `userId`, only if the token belongs to that user (so
   * one user cannot log another out). Unknown tokens are ignored. Returns whether a family was revoked.
   */
  async revoke(args: { readonly token: string; readonly userId?: string }): Promise<boolean> {
    const record = await this.#find(args.token)
    if (!record || (args.userId !== undefined && record.userId !== args.userId)) return false
    return (await this.revokeFamily({ familyId: record.familyId })) > 0
  }

  /** Revokes one login's tokens by family id. Returns how many tokens were revoked. */
  async revokeFamily(args: { readonly familyId: string }): Promise<number> {
    const count = await this.store.revokeFamily({ uow: this.uow, familyId: args.familyId, at: this.config.now() })
    if (count > 0) this.#endAfterCommit([args.familyId], 'logout')
    return count
  }

  /**
   * Revokes all of a user's logins (after a password change, say). Returns how many tokens were revoked.
   *
   * With `allAccessTokens`, every access token of the user is refused once this commits, also those
   * without a session and those issued after (until the last one issued before would have expired):
   * for a deleted account, whose tokens must never work again.
   */
  async revokeAllForUser(args: { readonly userId: string; readonly reason?: string; readonly allAccessTokens?: boolean }): Promise<number> {
    const revoked = await this.store.revokeUser({ uow: this.uow, userId: args.userId, at: this.config.now() })
    if (revoked.familyIds.length > 0 || args.allAccessTokens) {
      this.#endAfterCommit(revoked.familyIds, args.reason ?? 'logout', args.allAccessTokens ? args.userId : undefined)
    }
    return revoked.count
  }

  /** Deletes tokens of logins that expired before `before` (default: now). Run it from a periodic job. */
  async purgeExpired(args: { readonly before?: Date } = {}): Promise<number> {
    return this.store.deleteExpired({ uow: this.uow, before: args.before ?? this.config.now() })
  }

  async #find(token: string): Promise<StoredRefreshToken | undefined> {
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined
    return this.store.findByHash({ uow: this.uow, tokenHash: hashRefreshToken(token) })
  }

  /** Sessions end once their revocation is durable: a rolled-back logout ends nothing. */
  #endAfterCommit(familyIds: readonly string[], reason: string, userId?: string): void {
    const revocations = this.revocations
    if (!revocations) return
    this.uow.afterCommit(() => void revocations.end({ sessionIds: familyIds, reason, ...(userId !== undefined ? { userId } : {}) }))
  }

  async #reuseDetected(record: StoredRefreshToken): Promise<never> {
    // See the class comment: the request's unit is doomed by the 401, and must not hold PGlite's session.
    await this.uow.rollback()
    await UnitOfWork.run(this.db, (uow) => this.store.revokeFamily({ uow, familyId: record.familyId, at: this.config.now() }))
    this.revocations?.end({ sessionIds: [record.familyId], reason: 'reuse' })
    this.logger?.warn({ userId: record.userId, familyId: record.familyId }, 'refresh token reuse detected: login revoked')
    throw new UnauthorizedError(INVALID)
  }

  async #create(args: {
    id?: string
    userId: string
    familyId: string
    parentId: string | null
    expiresAt: Date
    now: Date
  }): Promise<IssuedRefreshToken> {
    const token = randomBytes(32).toString('base64url')
    await this.store.insert({
      uow: this.uow,
      token: {
        id: args.id ?? randomUUID(),
        userId: args.userId,
        familyId: args.familyId,
        parentId: args.parentId,
        tokenHash: hashRefreshToken(token),
        expiresAt: args.expiresAt,
        createdAt: args.now,
      },
    })
    return {
      token,
      userId: args.userId,
      familyId: args.familyId,
      expiresAt: args.expiresAt,
      expiresIn: Math.max(0, Math.floor((args.expiresAt.getTime() - args.now.getTime()) / 1000)),
    }
  }
}

/**
 * The stored form of a refresh token: hex SHA-256. A fast hash is right here (unlike passwords): the
 * token has 256 bits of entropy, so nobody can brute-force it from the hash.
 *
 * @example
 * ```ts
 * declare const presented: string // a refresh token a client sent
 * const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hashRefreshToken(presented)).executeTakeFirst()
 * ```
 */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
