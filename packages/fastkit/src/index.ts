/**
 * fastkit: typed, transactional, real-time APIs on Fastify 5, Kysely and PostgreSQL.
 * This barrel holds what an app is written with. The pieces for writing your own store, transport,
 * hasher or dialect are in `fastkit/extend`; test helpers in `fastkit/testing`; the browser client in
 * `fastkit/client`.
 */
import 'reflect-metadata'
// For its types only: Fastify's instance, request and route config as fastkit's plugins extend them.
import './fastify-augmentations.js'

// app
export { fastkit, type FastkitOptions } from './app/fastkit-plugin.js'
export { serverOptions } from './http/server-options.js'
export { closeGracefully, type CloseGracefullyOptions, type CloseGracefullyResult } from './app/graceful-shutdown.js'

// database
export { createDatabase, databaseKind, poolStats, type DatabaseKind, type DatabaseOptions, type PoolOptions } from './db/create-database.js'
export { DataDirLockedError } from './db/data-dir-lock.js'
// Also in fastkit/extend; here for repositories that turn a constraint violation into an HttpError.
export { isDatabaseError, PgErrorCode } from './db/database-errors.js'
export type { DatabaseLogger } from './db/database-logger.js'
export { ensurePrivateDir } from './db/private-data-dir.js'
export { migrateToLatest, type MigrateOptions } from './db/migrations.js'
export { settled } from './db/settled.js'

// unit of work
export { UnitOfWork, UnitOfWorkClosedError, type UnitOfWorkOptions, type UnitOfWorkState } from './uow/unit-of-work.js'

// dependency injection
export { token, type Token } from './di/token.js'
export { provide, resolve, type Dependencies, type Lifetime } from './di/provide.js'
export { Database, Logger } from './di/core-tokens.js'

// http errors
export {
  BadRequestError,
  ConflictError,
  ErrorCode,
  ForbiddenError,
  HttpError,
  isHttpError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  ValidationError,
  type ErrorCodeName,
  type FieldIssue,
  type HttpErrorOptions,
} from './http/errors.js'
export { redactingLogger } from './http/log-redaction.js'
export { ProblemSchema, type Problem } from './http/problem-details.js'
export { unstorableText } from './http/storable-text.js'

// crud: repository, service, router, openapi
export { BaseRepository, type Scope, type ScopeOptions } from './repository/base-repository.js'
export { escapeLike, likeContains, likePrefix } from './repository/like.js'
export {
  FILTER_OPERATORS,
  type AnchoredListQuery,
  type FieldFilter,
  type Filter,
  type FilterOperator,
  type IdOf,
  type KeyColumns,
  type ListQuery,
  type Page,
  type RowOf,
  type SortKey,
} from './repository/list-query.js'
export type { CursorKeyType } from './repository/cursor.js'
export {
  BaseService,
  type CreateHooks,
  type CrudBuilder,
  type DeleteHooks,
  type UpdateHooks,
  type RepositoryInsert, type RepositoryRow, type RepositoryUpdate } from './service/base-service.js'
export {
  BaseRouter,
  type BaseRouterOptions,
  type BodyRoute,
  type CrudRouteName,
  type CrudRoutes,
  type ListRoute,
  type RouteContext,
  type RouteDefinition,
  type RouteOptions,
  type ServiceClass,
} from './router/base-router.js'
export { listQuerySchema, parseListQuery, type ListOptions } from './router/list-params.js'
export { pageQuerySchema, pageSchema, type PageQueryOptions } from './router/page-schema.js'
export { fastkitOpenApi, type FastkitOpenApiOptions } from './openapi/openapi-plugin.js'

// real-time events: the plugin, typed publishing, the transports to choose from, the gateway
export { EventPublisher, type EventMap, type EventOf } from './events/event-publisher.js'
export { fastkitEvents, type FastkitEventsOptions } from './events/event-bus-plugin.js'
export { TableFeed, type TableFeedOptions } from './events/table-feed.js'
export { userTopic } from './events/user-topic.js'
export type { EventTransport } from './events/event-transport.js'
export { MemoryHub, MemoryTransport, type MemoryTransportOptions } from './events/memory-transport.js'
export { PostgresTransport, type PostgresTransportOptions } from './events/postgres-transport.js'
export { RedisTransport, type RedisConnection, type RedisTransportOptions } from './events/redis-transport.js'
export type { RedisClientOptions } from './redis/redis-client-options.js'
export { defaultTransport, type DefaultTransportOptions } from './events/default-transport.js'
export { CloseCode, fastkitGateway, type GatewayUser, type WebSocketGateway, type FastkitGatewayOptions } from './realtime/websocket-gateway.js'

// auth: JWT access tokens, password hashing, refresh-token rotation, login throttling
export { fastkitAuth, type FastkitAuthOptions, type JwtAlgorithm } from './auth/auth-plugin.js'
export { CurrentUser, type AuthUser } from './auth/current-user.js'
export { AccessTokens, type AccessTokenClaims, type AccessTokenPayload, type AccessTokenResponse } from './auth/access-tokens.js'
export { MAX_PASSWORD_LENGTH, PasswordHasher } from './auth/password-hasher.js'
export { Argon2PasswordHasher, type Argon2Parameters, type Argon2PasswordHasherOptions } from './auth/argon2-password-hasher.js'
export {
  createRefreshTokensTable,
  dropRefreshTokensTable,
  REFRESH_TOKENS_TABLE,
  refreshTokensMigration,
  type RefreshTokensTable,
  type RefreshTokensTableOptions,
} from './auth/refresh-tokens-migration.js'
export { RefreshTokens, type IssuedRefreshToken } from './auth/refresh-tokens.js'
export { LoginThrottle, type LoginAttempt, type LoginReservation, type LoginThrottleOptions, type ThrottleRule } from './auth/login-throttle.js'
export { RegistrationThrottle, type RegistrationThrottleOptions } from './auth/registration-throttle.js'
export { MemoryThrottleStore, type MemoryThrottleStoreOptions, type ThrottleStore } from './auth/throttle-store.js'
export { HashQueue, type HashQueueOptions } from './auth/hash-queue.js'
export { KyselyThrottleStore, type KyselyThrottleStoreOptions } from './auth/kysely-throttle-store.js'
export { RedisThrottleStore, type RedisThrottleStoreOptions } from './auth/redis-throttle-store.js'
export {
  createThrottleEventsTable,
  dropThrottleEventsTable,
  THROTTLE_EVENTS_TABLE,
  throttleEventsMigration,
  type ThrottleEventsTable,
} from './auth/throttle-events-migration.js'
