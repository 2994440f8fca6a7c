import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { provide } from '../di/provide.js'
import { UnauthorizedError } from '../http/errors.js'
import { AccessTokens, authUserOf, JwtAccessTokens, type AccessTokenClaims } from './access-tokens.js'
import { Argon2PasswordHasher } from './argon2-password-hasher.js'
import { CurrentUser, type AuthUser } from './current-user.js'
import { KnownUsers } from './known-users.js'
import { KyselyRefreshTokenStore } from './kysely-refresh-token-store.js'
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js'
import { PasswordHasher } from './password-hasher.js'
import { RegistrationThrottle, type RegistrationThrottleOptions } from './registration-throttle.js'
import { RefreshTokenStore } from './refresh-token-store.js'
import { DEFAULT_REFRESH_TOKEN_TTL_SECONDS, RefreshTokenConfig, RefreshTokens } from './refresh-tokens.js'
import { syncSessionRevocations } from './session-revocation-sync.js'
import { SessionRevocations } from './session-revocations.js'

/** The HMAC algorithms the auth plugin signs with. Exactly one is accepted on verification. */
export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512'

const MIN_SECRET_BYTES: Record<JwtAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 }

/**
 * Options of the {@link fastkitAuth} plugin: the signing key, issuer and audience, lifetimes, and the
 * hasher, refresh-token and throttle settings.
 *
 * @example
 * ```ts
 * await app.register(fastkitAuth, { secret: process.env.JWT_SECRET!, issuer: 'tasks', audience: 'tasks-api' })
 * ```
 */
export interface FastkitAuthOptions {
  /**
   * The HMAC key. At least as many bytes as the hash output (32 for HS256, RFC 7518 §3.2); a shorter
   * one is refused at start-up.
   */
  readonly secret: string | Buffer
  /** The `iss` claim signed into and required of every access token, e.g. `chat-example`. */
  readonly issuer: string
  /** The `aud` claim signed into and required of every access token, e.g. `chat-example-api`. */
  readonly audience: string
  /** Access-token lifetime. Default 900 (15 minutes). */
  readonly accessTokenTtlSeconds?: number
  /** Default `HS256`. Verification accepts this algorithm only (never `none`, never another family). */
  readonly algorithm?: JwtAlgorithm
  /** Allowed clock skew when checking `exp`/`nbf`. Default 0. */
  readonly clockToleranceSeconds?: number
  /** Registered as {@link PasswordHasher}. Default: `new Argon2PasswordHasher()` (OWASP cost). */
  readonly passwordHasher?: PasswordHasher
  /** Refresh-token settings, registered as {@link RefreshTokenConfig} and {@link RefreshTokenStore}. */
  readonly refreshTokens?: {
    /** Lifetime of a login's refresh tokens (absolute, from the login). Default 30 days. */
    readonly ttlSeconds?: number
    /** Default: {@link KyselyRefreshTokenStore} (needs the `refresh_tokens` table, see {@link refreshTokensMigration}). */
    readonly store?: RefreshTokenStore
    /** The clock. Default `() => new Date()`. */
    readonly now?: () => Date
  }
  /**
   * Whether a user exists. When given, a valid token of a user that no longer exists (deleted by
   * any means, also before this process started) is refused with 401. It is asked once per user and
   * minute per process ({@link KnownUsers}), not per request. Default: not checked.
   */
  readonly userExists?: (userId: string) => Promise<boolean>
  /** Registered as {@link LoginThrottle}: an instance, or options for a new one. Default: its defaults. */
  readonly loginThrottle?: LoginThrottle | LoginThrottleOptions
  /** Registered as {@link RegistrationThrottle}: an instance, or options for a new one. Default: its defaults. */
  readonly registrationThrottle?: RegistrationThrottle | RegistrationThrottleOptions
}

/**
 * Authentication for a fastkit app, on `@fastify/jwt`. Register it after {@link fastkit}.
 *
 * Access tokens are short-lived HMAC JWTs with `sub`, `username`, `jti`, `iss`, `aud`, `iat`, `exp`;
 * verification pins the algorithm and requires the issuer, the audience and an unexpired `exp`.
 *
 * It decorates the app with `authenticate` (a preHandler), `issueAccessToken` and
 * `verifyAccessToken`, and registers in `app.container`:
 * - {@link AccessTokens}, {@link PasswordHasher}, {@link LoginThrottle}, {@link RegistrationThrottle} (singletons;
 *   the throttles' stores are closed with the app);
 * - {@link RefreshTokens} (per request) with {@link RefreshTokenStore} and {@link RefreshTokenConfig};
 * - {@link SessionRevocations}: sessions that ended early (logout, reuse, account deletion), refused by
 *   every verification; kept in step across processes by the event bus, when one is registered, and
 *   loaded from the store at start;
 * - {@link CurrentUser}, which `authenticate` sets per request (resolving it elsewhere is a 401).
 *
 * @example
 * ```ts
 * await app.register(fastkit, { db })
 * await app.register(fastkitAuth, { secret: process.env.JWT_SECRET!, issuer: 'chat', audience: 'chat-api' })
 * app.get('/me', { preHandler: app.authenticate }, async (request) => request.user) // { id, username }
 * app.post('/token', async () => app.issueAccessToken({ id: user.id, username: user.username }))
 * ```
 */
export const fastkitAuth = fp(
  async function fastkitAuth(app: FastifyInstance, options: FastkitAuthOptions) {
    const algorithm = options.algorithm ?? 'HS256'
    if (!(algorithm in MIN_SECRET_BYTES)) throw new Error(`fastkitAuth: unsupported algorithm ${String(algorithm)} (use HS256, HS384 or HS512)`)
    const secretBytes = typeof options.secret === 'string' ? Buffer.byteLength(options.secret) : (options.secret?.length ?? 0)
    if (secretBytes < MIN_SECRET_BYTES[algorithm]) {
      throw new Error(`fastkitAuth: the JWT secret must be at least ${MIN_SECRET_BYTES[algorithm]} bytes for ${algorithm}`)
    }
    if (!options.issuer || !options.audience) throw new Error('fastkitAuth: `issuer` and `audience` are required')
    const ttlSeconds = options.accessTokenTtlSeconds ?? 900
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error('fastkitAuth: accessTokenTtlSeconds must be a positive integer')

    await app.register(fastifyJwt, {
      secret: options.secret,
      sign: { algorithm, iss: options.issuer, aud: options.audience, expiresIn: ttlSeconds },
      verify: {
        algorithms: [algorithm],
        allowedIss: options.issuer,
        allowedAud: options.audience,
        requiredClaims: ['sub', 'iss', 'aud', 'iat', 'exp'],
        clockTolerance: (options.clockToleranceSeconds ?? 0) * 1000,
      },
      formatUser: (payload) => authUserOf(payload),
    })

    // Kept for the token lifetime plus the allowed skew (and 30 s of margin between processes' clocks).
    const revocations = new SessionRevocations({ accessTokenTtlSeconds: ttlSeconds, marginSeconds: (options.clockToleranceSeconds ?? 0) + 30 })
    const knownUsers = options.userExists ? new KnownUsers({ exists: options.userExists }) : undefined
    if (knownUsers) revocations.onEnd((end) => end.userId !== undefined && knownUsers.forget(end.userId))
    const accessTokens = new JwtAccessTokens(app.jwt, ttlSeconds, { revocations, ...(knownUsers ? { knownUsers } : {}) })
    const container = app.container
    container.register(SessionRevocations, { useValue: revocations })
    container.register(AccessTokens, { useValue: accessTokens })
    container.register(PasswordHasher, { useValue: options.passwordHasher ?? new Argon2PasswordHasher() })
    const login = options.loginThrottle instanceof LoginThrottle ? options.loginThrottle : new LoginThrottle(options.loginThrottle)
    const registration =
      options.registrationThrottle instanceof RegistrationThrottle ? options.registrationThrottle : new RegistrationThrottle(options.registrationThrottle)
    container.register(LoginThrottle, { useValue: login })
    container.register(RegistrationThrottle, { useValue: registration })
    app.addHook('onClose', async () => {
      for (const store of new Set([login.store, registration.store])) await store.close?.()
    })
    const store = options.refreshTokens?.store ?? new KyselyRefreshTokenStore()
    container.register(RefreshTokenStore, { useValue: store })
    syncSessionRevocations(app, { revocations, store })
    container.register(RefreshTokenConfig, {
      useValue: {
        ttlSeconds: options.refreshTokens?.ttlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
        now: options.refreshTokens?.now ?? (() => new Date()),
      },
    })
    provide(container, RefreshTokens)
    // Overridden per request by `authenticate`; reaching this factory means the route never authenticated.
    container.register(CurrentUser, {
      useFactory: () => {
        throw new UnauthorizedError()
      },
    })

    app.decorateRequest('accessTokenClaims', null)
    app.decorate('issueAccessToken', (user: AuthUser) => accessTokens.issue(user))
    app.decorate('verifyAccessToken', (token: string) => accessTokens.verify(token))
    const signIn = (request: FastifyRequest, claims: AccessTokenClaims) => {
      const user = authUserOf(claims)
      request.user = user
      request.accessTokenClaims = claims
      request.container.register(CurrentUser, { useValue: user })
    }
    // A callback preHandler: the usual request (sessions loaded, user confirmed within the minute)
    // is authenticated without a promise.
    app.decorate('authenticate', function authenticate(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) {
      let claims: AccessTokenClaims | Promise<AccessTokenClaims>
      try {
        claims = accessTokens.claimsOf(bearerToken(request))
      } catch (error) {
        return done(error as Error)
      }
      if (!(claims instanceof Promise)) {
        signIn(request, claims)
        return done()
      }
      claims.then((verified) => {
        // The client may have hung up meanwhile, ending the request's scope (its container is then
        // disposed and refuses the registration): a throw here would be an unhandled rejection.
        try {
          signIn(request, verified)
        } catch (error) {
          return done(error as Error)
        }
        done()
      }, done)
    })
  },
  { name: 'fastkit.auth', fastify: '5.x', dependencies: ['fastkit'] },
)

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i

/** The token of an `Authorization: Bearer <token>` header, or a 401. */
function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization
  if (!header) throw new UnauthorizedError('Missing bearer token')
  const match = BEARER.exec(header)
  if (!match) throw new UnauthorizedError('Malformed Authorization header: expected "Bearer <token>"')
  return match[1]!
}
