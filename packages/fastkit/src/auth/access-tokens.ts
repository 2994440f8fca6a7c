import { randomUUID } from 'node:crypto'
import type { JWT } from '@fastify/jwt'
import { token } from '../di/token.js'
import { ServiceUnavailableError, UnauthorizedError } from '../http/errors.js'
import type { AuthUser } from './current-user.js'
import type { KnownUsers } from './known-users.js'
import type { SessionRevocations } from './session-revocations.js'

/** The claims fastkit signs into an access token (`iss`, `aud`, `iat`, `exp` are added by the signer). */
export interface AccessTokenPayload {
  /** The user's id. */
  readonly sub: string
  readonly username: string
  /** A unique id per token. */
  readonly jti: string
  /**
   * The session (login) the token belongs to: its refresh-token family. Ending the session (logout,
   * refresh-token reuse) refuses every access token carrying it. Absent on tokens issued without one.
   */
  readonly sid?: string
}

/** The claims of a verified access token. */
export interface AccessTokenClaims extends AccessTokenPayload {
  readonly iss: string
  readonly aud: string | string[]
  /** Issued at, seconds since epoch. */
  readonly iat: number
  /** Expires at, seconds since epoch. */
  readonly exp: number
}

/** An OAuth2 token response (RFC 6749 §5.1) for an access token. */
export interface AccessTokenResponse {
  readonly access_token: string
  readonly token_type: 'bearer'
  /** Lifetime of `access_token` in seconds. */
  readonly expires_in: number
}

/**
 * Issues and verifies access tokens (short-lived JWTs). The auth plugin registers one in the DI
 * container and exposes the same functions as `app.issueAccessToken` / `app.verifyAccessToken`.
 *
 * @example
 * ```ts
 * class AuthService {
 *   static readonly inject = [AccessTokens] as const
 *   constructor(private readonly accessTokens: AccessTokens) {}
 *   tokensFor(user: AuthUser) { return this.accessTokens.issue(user) } // { access_token, token_type, expires_in }
 * }
 * ```
 */
export interface AccessTokens {
  /** Lifetime of issued tokens, in seconds. */
  readonly ttlSeconds: number
  /**
   * Signs a token for `user` (claims `sub` = `user.id`, `username`), for the session `sessionId` when
   * given (claim `sid`; pass the refresh-token family, so that logging out refuses the token at once).
   */
  issue(user: AuthUser, session?: { readonly sessionId: string }): AccessTokenResponse
  /**
   * Verifies `token` (signature, pinned algorithm, `iss`, `aud`, `exp`, an `iat` at most
   * {@link MAX_IAT_SKEW_SECONDS} ahead, a session that has not ended); throws `UnauthorizedError` (401) otherwise.
   */
  verify(token: string): Promise<AuthUser>
  /** Like {@link verify}, returning every verified claim. */
  verifyClaims(token: string): Promise<AccessTokenClaims>
}

/**
 * The app's {@link AccessTokens} in the DI container.
 *
 * @example
 * ```ts
 * // a token that came another way than the Authorization header (a WebSocket's first message, say):
 * declare const token: string
 * const caller = await resolve(app.container, AccessTokens).verify(token) // AuthUser, or a 401
 * ```
 */
export const AccessTokens = token<AccessTokens>('fastkit.AccessTokens')

/**
 * How far in the future a token's `iat` may be (clock skew between the signer and this process)
 * before the token is refused: 30 seconds.
 *
 * @example
 * ```ts
 * import { signJwt } from 'fastkit/testing'
 * const now = Math.floor(Date.now() / 1000)
 * const early = signJwt({ alg: 'HS256', typ: 'JWT' }, { sub: user.id, iat: now + MAX_IAT_SKEW_SECONDS + 1, exp: now + 60 }, 'the secret')
 * // `Bearer ${early}` is refused with 401
 * ```
 */
export const MAX_IAT_SKEW_SECONDS = 30

/** Options of {@link JwtAccessTokens} beyond the signer and the lifetime. */
export interface JwtAccessTokensOptions {
  /** Sessions that ended early; a token of one of them is refused. */
  readonly revocations?: SessionRevocations
  /** When given, a token whose `sub` no longer exists is refused (checked once per user and TTL, not per request). */
  readonly knownUsers?: KnownUsers
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * {@link AccessTokens} over an `@fastify/jwt` instance configured by the auth plugin (which pins the
 * algorithm and sets `iss`, `aud`, `exp` on signing and checks them on verifying).
 *
 * @example
 * ```ts
 * const tokens = resolve(app.container, AccessTokens) // a JwtAccessTokens, registered by fastkitAuth
 * const { access_token } = tokens.issue({ id: user.id, username: user.username })
 * ```
 */
export class JwtAccessTokens implements AccessTokens {
  readonly #jwt: JWT
  readonly #revocations: SessionRevocations | undefined
  readonly #knownUsers: KnownUsers | undefined
  readonly #now: () => number

  constructor(
    jwt: JWT,
    readonly ttlSeconds: number,
    options: JwtAccessTokensOptions = {},
  ) {
    this.#jwt = jwt
    this.#revocations = options.revocations
    this.#knownUsers = options.knownUsers
    this.#now = options.now ?? Date.now
  }

  issue(user: AuthUser, session?: { readonly sessionId: string }): AccessTokenResponse {
    const payload: AccessTokenPayload = {
      sub: user.id,
      username: user.username,
      jti: randomUUID(),
      ...(session ? { sid: session.sessionId } : {}),
    }
    return { access_token: this.#jwt.sign(payload), token_type: 'bearer', expires_in: this.ttlSeconds }
  }

  async verify(token: string): Promise<AuthUser> {
    return authUserOf(await this.verifyClaims(token))
  }

  async verifyClaims(token: string): Promise<AccessTokenClaims> {
    return this.claimsOf(token)
  }

  /**
   * {@link verifyClaims} without a promise when nothing has to be waited for (the usual request: the
   * ended sessions are loaded and the user was confirmed within the last minute); throws the same
   * errors synchronously. For the auth plugin's `authenticate`.
   * @internal
   */
  claimsOf(token: string): AccessTokenClaims | Promise<AccessTokenClaims> {
    let claims: Partial<AccessTokenClaims>
    try {
      if (typeof token !== 'string' || token.length === 0) throw new TypeError('no token')
      claims = this.#jwt.verify<Partial<AccessTokenClaims>>(token)
    } catch (error) {
      const expired = (error as { code?: unknown }).code === 'FAST_JWT_EXPIRED'
      throw new UnauthorizedError(expired ? 'Access token expired' : 'Invalid access token', { cause: error })
    }
    if (
      typeof claims !== 'object' ||
      claims === null ||
      typeof claims.sub !== 'string' ||
      claims.sub === '' ||
      typeof claims.username !== 'string' ||
      (claims.sid !== undefined && typeof claims.sid !== 'string')
    ) {
      throw new UnauthorizedError('Invalid access token')
    }
    // fast-jwt checks `iat` only against a maxAge; a token "issued" in the future would outlive its `exp` - `iat`.
    if (typeof claims.iat !== 'number' || claims.iat > this.#now() / 1000 + MAX_IAT_SKEW_SECONDS) {
      throw new UnauthorizedError('Invalid access token')
    }
    const verified = claims as AccessTokenClaims
    const loading = this.#revocations?.ready()
    if (loading) return this.#afterLoading(loading, verified)
    return this.#checkSession(verified)
  }

  async #afterLoading(loading: Promise<void>, claims: AccessTokenClaims): Promise<AccessTokenClaims> {
    try {
      await loading
    } catch (error) {
      // Fail closed: without the sessions that ended before this start, a logged-out token could pass.
      throw new ServiceUnavailableError('Sessions could not be checked; try again', { cause: error })
    }
    return this.#checkSession(claims)
  }

  /** The session has not ended and the user still exists (asked at most once a minute per user). */
  #checkSession(claims: AccessTokenClaims): AccessTokenClaims | Promise<AccessTokenClaims> {
    if (this.#revocations?.isRevoked({ sub: claims.sub, sid: claims.sid })) throw new UnauthorizedError('Session ended')
    if (!this.#knownUsers || this.#knownUsers.isConfirmed(claims.sub)) return claims
    return this.#knownUsers.exists(claims.sub).then((exists) => {
      if (!exists) throw new UnauthorizedError('Session ended')
      return claims
    })
  }
}

/**
 * The {@link AuthUser} a verified token speaks for.
 *
 * @example
 * ```ts
 * authUserOf({ sub: 'b3c…', username: 'ann' }) // { id: 'b3c…', username: 'ann' }
 * ```
 */
export function authUserOf(claims: Pick<AccessTokenClaims, 'sub' | 'username'>): AuthUser {
  return { id: claims.sub, username: claims.username }
}
