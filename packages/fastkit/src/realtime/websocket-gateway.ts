import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { AccessTokens } from '../auth/access-tokens.js'
import { SessionRevocations, type SessionEnd } from '../auth/session-revocations.js'
import { logSerializers } from '../http/log-redaction.js'
import { ForbiddenError, HttpError, isHttpError, ServiceUnavailableError, UnauthorizedError } from '../http/errors.js'
import type { EventMessage } from '../events/event-transport.js'
import { userTopic } from '../events/user-topic.js'
import { ConnectionRegistry, type GatewayConnection } from './connection-registry.js'

/** What `authenticate` returns for a valid token: at least the user's id. */
export interface GatewayUser {
  readonly id: string
  /** The token's session (`sid`): the connection closes with {@link CloseCode.SESSION_ENDED} when it ends. */
  readonly sessionId?: string | undefined
  /** The token's `exp` (seconds since epoch): the connection closes with {@link CloseCode.TOKEN_EXPIRED} then. */
  readonly expiresAt?: number | undefined
}

/**
 * Options of the {@link fastkitGateway} plugin: its path, how a token becomes a user, allowed origins.
 *
 * @example
 * ```ts
 * await app.register(fastkitGateway, { path: '/ws', authenticate: (token) => app.verifyAccessToken(token) })
 * ```
 */
export interface FastkitGatewayOptions<User extends GatewayUser = GatewayUser> {
  /** The WebSocket route. Default `/ws`. */
  readonly path?: string
  /**
   * Checks an access token (from `?token=` or the `bearer, <token>` subprotocol pair) and returns its
   * user, or `null` when it is invalid or expired: the upgrade is then refused with 401. An
   * {@link HttpError} it throws (such as `UnauthorizedError`) is the response; any other throw counts
   * as an invalid token (401). Return `sessionId` and `expiresAt` too, so the connection ends with
   * its session and its token.
   *
   * Default (with `fastkitAuth`): the app's {@link AccessTokens}, the same check as HTTP, returning
   * `{ id: sub, username, sessionId: sid, expiresAt: exp }`.
   */
  readonly authenticate?: (token: string) => Promise<User | null> | User | null
  /**
   * The topics a connection of `user` receives; the server decides, clients cannot subscribe.
   * Computed once, before the upgrade completes. Default: `[userTopic(user.id)]`, which lets the app
   * address each event to its recipients when it writes (see {@link userTopic}).
   */
  readonly topicsFor?: (user: User) => readonly string[] | Promise<readonly string[]>
  /**
   * Origins (`https://chat.example.com`) allowed to open a connection from a browser, or `['*']`.
   * Same-origin pages, and clients that send no `Origin` (not browsers), are always allowed; any
   * other origin is refused with 403. Default: none.
   */
  readonly allowedOrigins?: readonly string[]
  /** How often each connection is pinged; one that has not answered the previous ping is dropped. Default 30 000. */
  readonly heartbeatIntervalMs?: number
  /**
   * Most bytes waiting to be sent to one connection. A client that reads slower than it is sent to is
   * disconnected when an event would go beyond this, instead of holding memory or slowing others.
   * Default 1 MiB.
   */
  readonly maxBufferedBytes?: number
  /** Largest message a client may send (it only ever sends pings). Default 4 KiB. */
  readonly maxIncomingBytes?: number
  /** On `app.close()`, how long connections get to answer the 1001 close before they are cut. Default 2 000. */
  readonly shutdownTimeoutMs?: number
}

/** The gateway's view of this process's connections: `app.gateway`. */
export interface WebSocketGateway {
  /** Open connections in this process. */
  readonly connectionCount: number
  /** Closes this process's connections of one user (e.g. when the account is deleted). Returns how many. */
  disconnectUser(userId: string, code?: number, reason?: string): number
}

/**
 * WebSocket close codes the gateway uses.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'
 * const socket = new WebSocket('ws://localhost:3000/ws', ['bearer', session.accessToken])
 * socket.addEventListener('close', (event) => { if (event.code === CloseCode.GOING_AWAY) console.log('the server restarts: reconnect later') })
 * ```
 */
export const CloseCode = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** The connection broke a rule (sent by `disconnectUser` by default). */
  POLICY_VIOLATION: 1008,
  /**
   * The access token the connection was opened with expired: refresh it (`POST /auth/refresh`) and
   * reconnect with the new one.
   */
  TOKEN_EXPIRED: 4001,
  /**
   * The connection's session ended: logout (of this login or of every login), a refresh token
   * presented twice (which revokes the login), or the account was deleted. Refreshing will fail too:
   * log in again before reconnecting.
   */
  SESSION_ENDED: 4003,
} as const

/** A registered connection, with what the wiring needs to send to it and end it. */
interface Connection extends GatewayConnection {
  readonly log: FastifyRequest['log']
  expiry: NodeJS.Timeout | undefined
  /** Frames waiting for the next flush, in the order of their events. */
  queued: Buffer[] | undefined
}

/** setTimeout's limit (about 24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

const PONG = Buffer.from(JSON.stringify({ type: 'pong' }))
const UNSUPPORTED = Buffer.from(
  JSON.stringify({ type: 'error', data: { code: 'UNSUPPORTED_MESSAGE', message: 'The server accepts only {"type":"ping"}' } }),
)

/**
 * A WebSocket endpoint that pushes the {@link EventBus}'s events to authenticated clients, as JSON
 * text frames `{ "type": …, "data": … }`. Needs {@link fastkitEvents}; registers `@fastify/websocket` (with
 * a 1001 "going away" shutdown) unless the app already did.
 *
 * - **Authentication before the upgrade**: the token comes as `?token=<t>` or as the subprotocol pair
 *   `Sec-WebSocket-Protocol: bearer, <t>` (the server then answers `bearer`, never the token). A
 *   missing, invalid or expired token gets a 401 problem+json response instead of `101`; a browser
 *   `Origin` outside `allowedOrigins` (and not same-origin) gets 403.
 * - **Server-side subscriptions** from `topicsFor(user)`, subscribed before the client sees the
 *   connection open, so nothing published after that is missed.
 * - The client may send `{"type":"ping"}` and gets `{"type":"pong"}`; anything else gets an
 *   `{"type":"error"}` frame.
 * - **Sessions**: a connection is closed with {@link CloseCode.TOKEN_EXPIRED} (4001) when its access
 *   token expires, and with {@link CloseCode.SESSION_ENDED} (4003) as soon as its session ends in any
 *   process (logout, refresh-token reuse, account deletion: see {@link SessionRevocations}).
 * - **Heartbeat**: a WebSocket ping every `heartbeatIntervalMs`; a connection that missed a pong is
 *   terminated. **Bounded send buffer**: see `maxBufferedBytes`.
 * - **Shutdown**: on `app.close()` every connection is closed with 1001, then cut after
 *   `shutdownTimeoutMs`, before the event bus closes.
 *
 * Each process delivers to its own connections; the bus's transport brings the other processes' events.
 *
 * @example
 * ```ts
 * await app.register(fastkitEvents, { transport: defaultTransport({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }) })
 * await app.register(fastkitGateway, {
 *   authenticate: (token) => app.verifyAccessToken(token), // { id } | null
 *   allowedOrigins: ['https://chat.example.com'],
 * })
 * // then a service publishes inside the request's transaction (see EventPublisher), and every
 * // connection of the users in `userTopic(id)` receives the event once that transaction commits
 * ```
 */
export const fastkitGateway = fp(
  async function fastkitGateway(app: FastifyInstance, options: FastkitGatewayOptions<any>) {
    const revocations = app.container.isRegistered(SessionRevocations) ? app.container.resolve(SessionRevocations) : undefined
    const authenticate = options.authenticate ?? defaultAuthenticate(app)
    const path = options.path ?? '/ws'
    const topicsFor = options.topicsFor ?? ((user: GatewayUser) => [userTopic(user.id)])
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000
    const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024
    const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 2_000
    const allowAnyOrigin = (options.allowedOrigins ?? []).includes('*')
    const allowedOrigins = new Set((options.allowedOrigins ?? []).filter((o) => o !== '*').map(normalizeOrigin))

    const connections = new ConnectionRegistry<Connection>()
    const admitted = new WeakMap<
      FastifyRequest,
      { userId: string; sessionId: string | undefined; expiresAt: number | undefined; topics: readonly string[] }
    >()
    let shuttingDown = false

    /**
     * Sends `frames` unless the connection is closing or its client reads too slowly (see
     * maxBufferedBytes), corked so that they leave in one write (one system call, however many).
     */
    const send = (connection: Connection, frames: readonly Buffer[]) => {
      const socket = connection.socket
      if (socket.readyState !== socket.OPEN) return
      let bytes = 0
      for (const frame of frames) bytes += frame.length
      if (socket.bufferedAmount + bytes > maxBufferedBytes) {
        connection.log.warn({ userId: connection.userId, bufferedAmount: socket.bufferedAmount }, 'websocket client too slow: disconnected')
        // Not close(): its close frame would wait behind the very backlog that is the problem.
        socket.terminate()
        return
      }
      // `ws` corks its TCP socket around each frame; corking around all of them merges their writes.
      const tcp = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket
      tcp?.cork()
      for (const frame of frames) socket.send(frame, { binary: false })
      tcp?.uncork()
    }
    /** Connections with frames waiting for the next flush, each once. */
    let waiting: Connection[] = []
    let flushScheduled = false
    /**
     * Sends what waits. Runs once per turn of the event loop: events that arrive together (the
     * transport hands over every notification of one network read at once) go to each connection in
     * one write, so a burst costs a system call per connection, not one per event and connection.
     */
    const flush = () => {
      flushScheduled = false
      const connectionsNow = waiting
      waiting = []
      for (const connection of connectionsNow) {
        const frames = connection.queued!
        connection.queued = undefined
        send(connection, frames)
      }
    }
    /**
     * The gateway's one bus listener, subscribed to every topic some connection receives: the bus
     * calls it once per event, which is encoded once and queued for the connections of its topics.
     */
    const deliver = (message: EventMessage) => {
      const frame = Buffer.from(JSON.stringify({ type: message.type, data: message.data }))
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flush)
      }
      connections.forTopics(message.topics, (connection) => {
        if (connection.queued) connection.queued.push(frame)
        else {
          connection.queued = [frame]
          waiting.push(connection)
        }
      })
    }
    const subscriptions = new Map<string, () => void>()

    const endSessions = (end: SessionEnd) => {
      for (const connection of connections.ofUserOrSessions(end.userId, end.sessionIds ?? [])) {
        connection.socket.close(CloseCode.SESSION_ENDED, 'Session ended')
      }
    }
    const stopListening = revocations?.onEnd(endSessions)

    const shutdown = async () => {
      shuttingDown = true
      stopListening?.()
      clearInterval(heartbeat)
      const open = connections.all().map((c) => c.socket)
      for (const socket of open) socket.close(CloseCode.GOING_AWAY, 'Server shutting down')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.all(open.map((socket) => closed(socket))),
        new Promise((resolve) => (timer = setTimeout(resolve, shutdownTimeoutMs))),
      ])
      clearTimeout(timer)
      for (const socket of open) if (socket.readyState !== socket.CLOSED) socket.terminate()
    }

    if (!app.hasDecorator('websocketServer')) {
      await app.register(websocket, {
        options: {
          maxPayload: options.maxIncomingBytes ?? 4096,
          // Answer `bearer` to `bearer, <token>`: a browser refuses a 101 that picks none of its offers.
          handleProtocols: (protocols: Set<string>) => (protocols.has('bearer') ? 'bearer' : false),
        },
        errorHandler: (error, socket, request) => {
          request.log.debug({ err: error }, 'websocket error')
          socket.terminate()
        },
        preClose: async () => {
          await shutdown()
          await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()))
        },
      })
    } else {
      app.addHook('preClose', shutdown)
    }

    const heartbeat = setInterval(() => {
      for (const connection of connections.all()) {
        if (!connection.alive) {
          connection.socket.terminate()
          continue
        }
        connection.alive = false
        connection.socket.ping()
      }
    }, heartbeatIntervalMs)
    heartbeat.unref()

    const originAllowed = (request: FastifyRequest): boolean => {
      const origin = request.headers.origin
      if (origin === undefined || allowAnyOrigin) return true
      const normalized = normalizeOrigin(origin)
      if (allowedOrigins.has(normalized)) return true
      try {
        return new URL(normalized).host === request.headers.host
      } catch {
        return false
      }
    }

    app.decorate('gateway', {
      get connectionCount() {
        return connections.size
      },
      disconnectUser(userId: string, code: number = CloseCode.POLICY_VIOLATION, reason = 'Disconnected by the server') {
        const mine = connections.ofUser(userId)
        for (const connection of mine) connection.socket.close(code, reason)
        return mine.length
      },
    } satisfies WebSocketGateway)

    app.route({
      method: 'GET',
      url: path,
      schema: { hide: true } as never,
      // Whatever the app's logger: the upgrade's `?token=` never reaches a log line.
      logSerializers: logSerializers,
      // Runs before the upgrade: whatever it throws becomes the HTTP response instead of `101`.
      preValidation: async (request) => {
        if (!request.ws) return
        if (shuttingDown) throw new ServiceUnavailableError('Server shutting down')
        if (!originAllowed(request)) throw new ForbiddenError('This origin may not open a WebSocket here')
        const token = tokenOf(request)
        if (!token) throw new UnauthorizedError('An access token is required (?token= or the bearer subprotocol)')
        let user: GatewayUser | null
        try {
          user = await authenticate(token)
        } catch (error) {
          if (isHttpError(error)) throw error
          request.log.debug({ err: error }, 'websocket token refused')
          user = null
        }
        if (!user) throw new UnauthorizedError('Invalid or expired access token')
        admitted.set(request, { userId: user.id, sessionId: user.sessionId, expiresAt: user.expiresAt, topics: await topicsFor(user) })
      },
      handler: async () => {
        throw new HttpError({ status: 426, code: 'UPGRADE_REQUIRED', message: `${path} speaks WebSocket only`, headers: { upgrade: 'websocket' } })
      },
      // Runs synchronously right after the 101 is written, so subscriptions exist before the client sees `open`.
      wsHandler: (socket: WebSocket, request: FastifyRequest) => {
        const admission = admitted.get(request)
        admitted.delete(request)
        if (!admission || shuttingDown) {
          socket.close(admission ? CloseCode.GOING_AWAY : CloseCode.POLICY_VIOLATION)
          return
        }
        // The session may have ended while `topicsFor` ran.
        if (revocations?.isRevoked({ sub: admission.userId, sid: admission.sessionId })) {
          socket.close(CloseCode.SESSION_ENDED, 'Session ended')
          return
        }
        const connection: Connection = {
          socket,
          userId: admission.userId,
          sessionId: admission.sessionId,
          topics: admission.topics,
          alive: true,
          log: request.log,
          expiry: undefined,
          queued: undefined,
        }
        if (admission.expiresAt !== undefined) {
          const expiresAtMs = admission.expiresAt * 1000
          const arm = () => {
            const left = expiresAtMs - Date.now()
            if (left <= 0) {
              socket.close(CloseCode.TOKEN_EXPIRED, 'Access token expired')
              return
            }
            connection.expiry = setTimeout(arm, Math.min(left, MAX_TIMER_MS))
            connection.expiry.unref()
          }
          arm()
        }
        for (const topic of connections.add(connection)) subscriptions.set(topic, app.events.subscribe(topic, deliver))
        socket.on('pong', () => {
          connection.alive = true
        })
        socket.on('message', (data: Buffer, isBinary: boolean) => {
          connection.alive = true
          send(connection, [!isBinary && isPing(data) ? PONG : UNSUPPORTED])
        })
        socket.on('close', () => {
          clearTimeout(connection.expiry)
          for (const topic of connections.delete(connection)) {
            subscriptions.get(topic)?.()
            subscriptions.delete(topic)
          }
        })
      },
    })
  },
  { name: 'fastkit.gateway', fastify: '5.x', dependencies: ['fastkit', 'fastkit.events'] },
)

/** With `fastkitAuth`: the app's access-token check, keeping the token's session and expiry. */
function defaultAuthenticate(app: FastifyInstance): (token: string) => Promise<GatewayUser> {
  if (!app.container.isRegistered(AccessTokens)) {
    throw new Error('fastkitGateway: pass `authenticate`, or register fastkitAuth before the gateway')
  }
  const accessTokens = app.container.resolve<AccessTokens>(AccessTokens)
  return async (token) => {
    const claims = await accessTokens.verifyClaims(token)
    return { id: claims.sub, username: claims.username, sessionId: claims.sid, expiresAt: claims.exp }
  }
}

/** `bearer, <token>` in `Sec-WebSocket-Protocol` first, else `?token=`. */
function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers['sec-websocket-protocol']
  if (typeof header === 'string') {
    const offers = header.split(',').map((s) => s.trim())
    const at = offers.indexOf('bearer')
    if (at >= 0 && offers[at + 1]) return offers[at + 1]
  }
  const token = (request.query as Record<string, unknown> | undefined)?.token
  return typeof token === 'string' && token !== '' ? token : undefined
}

function isPing(data: Buffer): boolean {
  try {
    return (JSON.parse(data.toString('utf8')) as { type?: unknown } | null)?.type === 'ping'
  } catch {
    return false
  }
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin
  } catch {
    return origin
  }
}

function closed(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === socket.CLOSED) resolve()
    else socket.once('close', () => resolve())
  })
}
