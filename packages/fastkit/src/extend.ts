/**
 * `fastkit/extend`: what you need to write a piece fastkit plugs in, not to write an app. Implement an
 * event transport, a throttle or refresh-token store, a password hasher or an access-token scheme;
 * compose the request scope or the problem+json handler yourself; open PGlite your own way.
 * App code imports from `fastkit`; the two interfaces an app also names when it picks an
 * implementation (`EventTransport`, `ThrottleStore`) are exported from both.
 */
import 'reflect-metadata'
// For its types only: Fastify's instance, request and route config as fastkit's plugins extend them.
import './fastify-augmentations.js'

// database: the PGlite dialect and its data folder, PostgreSQL errors
export { PGliteDialect, type PGliteDialectConfig } from './db/pglite-dialect.js'
export { lockDataDir, type DataDirLock } from './db/data-dir-lock.js'
export { makeTreePrivate } from './db/private-data-dir.js'
export { isDatabaseError, PgErrorCode } from './db/database-errors.js'
export { mapDatabaseError } from './http/database-error-mapping.js'

// dependency injection and the request scope (both registered for you by the `fastkit` plugin)
export type { InjectionKey, Resolved } from './di/token.js'
export { disposeContainer } from './di/provide.js'
export { requestScope, type RequestScopeOptions } from './request-scope/request-scope.js'

// the plugins the `fastkit` plugin registers, and the problem+json and logging pieces it and `serverOptions()` use
export { gracefulShutdown } from './app/graceful-shutdown.js'
export { formatValidationIssues, problemDetails, problemOf, sendProblem, toHttpError } from './http/problem-details.js'
export { logSerializers, redactUrl, serializeRequest } from './http/log-redaction.js'

// event transports: the bus they feed and the interface they implement
export { EventBus, type EventBusOptions, type EventListener } from './events/event-bus.js'
export type {
  EventMessage,
  EventTransport,
  TransportEnvelope,
  TransportPublishArgs,
  TransportPublishInTransactionArgs,
  TransportStartArgs,
} from './events/event-transport.js'

// access tokens and sessions: the default implementation and the pieces it is made of
export { authUserOf, JwtAccessTokens, MAX_IAT_SKEW_SECONDS, type JwtAccessTokensOptions } from './auth/access-tokens.js'
export { KnownUsers, type KnownUsersOptions } from './auth/known-users.js'
export {
  SESSION_EVENTS_TOPIC,
  SessionRevocations,
  type SessionClaims,
  type SessionEnd,
  type SessionRevocationsOptions,
} from './auth/session-revocations.js'

// password hashing: what a custom PasswordHasher checks; argon2's native binding (a fake in tests)
export { assertPasswordAcceptable } from './auth/password-hasher.js'
export type { Argon2Binding } from './auth/argon2-password-hasher.js'

// refresh-token stores
export {
  RefreshTokenStore,
  type NewRefreshToken,
  type RevokedFamily,
  type RevokedTokens,
  type StoredRefreshToken,
} from './auth/refresh-token-store.js'
export { KyselyRefreshTokenStore } from './auth/kysely-refresh-token-store.js'
export { DEFAULT_REFRESH_TOKEN_TTL_SECONDS, hashRefreshToken, RefreshTokenConfig } from './auth/refresh-tokens.js'

// throttle stores
export type { ThrottleLimit, ThrottleReservation, ThrottleStore } from './auth/throttle-store.js'
