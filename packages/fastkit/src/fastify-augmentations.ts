// Every augmentation of Fastify's (and @fastify/jwt's) types that fastkit makes, in one place, so
// each property is declared once and can be found. The barrel imports this module for its effect;
// the plugins that set these properties live in their areas (named next to each block).
import type { preHandlerHookHandler } from 'fastify'
import type { Kysely } from 'kysely'
import type { DependencyContainer } from 'tsyringe'
import type { AccessTokenClaims, AccessTokenPayload, AccessTokenResponse } from './auth/access-tokens.js'
import type { AuthUser } from './auth/current-user.js'
import type { EventBus } from './events/event-bus.js'
import type { WebSocketGateway } from './realtime/websocket-gateway.js'
import type { UnitOfWork, UnitOfWorkOptions } from './uow/unit-of-work.js'

// Set by auth/auth-plugin.ts: what @fastify/jwt signs and verifies.
declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenPayload
    user: AuthUser
  }
}

declare module 'fastify' {
  // app/fastkit-plugin.ts
  interface FastifyInstance {
    /** The app's root DI container: singletons live here; each request gets a child of it. */
    container: DependencyContainer
    /** The app's `Kysely` (outside requests; inside one, use `request.uow.db` or a repository). */
    db: Kysely<any>
  }
  // request-scope/request-scope.ts
  interface FastifyRequest {
    /** This request's DI container, a child of `app.container`; disposed when the request ends. */
    container: DependencyContainer
    /** This request's unit of work; committed before a 2xx/3xx response is sent, else rolled back. */
    uow: UnitOfWork
  }
  interface FastifyContextConfig {
    /** Per-route unit-of-work settings (isolation level, read-only, statement timeout). */
    uow?: Pick<UnitOfWorkOptions, 'isolationLevel' | 'readOnly' | 'statementTimeoutMs'>
  }
  // auth/auth-plugin.ts (BaseRouter adds `authenticate` to routes with `auth: true`)
  interface FastifyInstance {
    /**
     * A `preHandler` that requires `Authorization: Bearer <access token>`. On success it sets
     * `request.user` and `request.accessTokenClaims` and registers the user in `request.container`
     * as `CurrentUser`; on any failure it throws `UnauthorizedError` (401 problem+json with
     * `WWW-Authenticate: Bearer`). `BaseRouter` adds it to routes declared with `auth: true`.
     * Outside a route (a WebSocket upgrade, say) use {@link FastifyInstance.verifyAccessToken}.
     */
    authenticate: preHandlerHookHandler
    /** Signs an access token for `user`: `{ access_token, token_type: 'bearer', expires_in }`. */
    issueAccessToken: (user: AuthUser) => AccessTokenResponse
    /** Verifies an access token (e.g. a WebSocket's `?token=`); throws `UnauthorizedError` if it is not valid. */
    verifyAccessToken: (token: string) => Promise<AuthUser>
  }
  interface FastifyRequest {
    /** The verified claims of the request's access token; `null` on routes without authentication. */
    accessTokenClaims: AccessTokenClaims | null
  }
  // events/event-bus-plugin.ts
  interface FastifyInstance {
    /** The app's {@link EventBus} (also `app.container.resolve(EventBus)`). */
    events: EventBus
  }
  // realtime/websocket-gateway.ts
  interface FastifyInstance {
    /** The WebSocket gateway: connected sockets, their topics, and the `/ws` route. */
    gateway: WebSocketGateway
  }
}
