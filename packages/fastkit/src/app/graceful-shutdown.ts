import fp from 'fastify-plugin'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServiceUnavailableError } from '../http/errors.js'
import { sendProblem } from '../http/problem-details.js'

/** What one server's drain knows: whether it started, and the requests it still waits for. */
interface DrainState {
  draining: boolean
  retryAfterSeconds: number
  inFlight: number
  onIdle: Array<() => void>
}

/** Keyed by the HTTP server, which an app and all its encapsulated children share. */
const drains = new WeakMap<Server, DrainState>()

/**
 * Options of {@link closeGracefully}.
 *
 * @example
 * ```ts
 * await closeGracefully(app, { deadlineMs: 5_000, retryAfterSeconds: 2 })
 * ```
 */
export interface CloseGracefullyOptions {
  /** How long requests already read get to finish; then their connections are cut. Default 10 000 ms. */
  readonly deadlineMs?: number
  /** The `Retry-After` of the 503 answered to requests that arrive during the drain. Default 1. */
  readonly retryAfterSeconds?: number
}

/**
 * What {@link closeGracefully} did: whether every request in flight finished before the deadline.
 *
 * @example
 * ```ts
 * const { drained, cutRequests } = await closeGracefully(app)
 * if (!drained) app.log.warn(`${cutRequests} requests were cut at the deadline`)
 * ```
 */
export interface CloseGracefullyResult {
  readonly drained: boolean
  /** Requests still unanswered when the deadline cut their connections. */
  readonly cutRequests: number
}

/**
 * Tracks the app's requests so {@link closeGracefully} can drain them, and answers the requests that
 * arrive during a drain with 503 problem+json and `Connection: close` (Fastify's own closing answer
 * is plain JSON, and only starts once `app.close()` runs). The {@link fastkit} plugin registers it.
 *
 * @example
 * ```ts
 * await app.register(gracefulShutdown) // only for an app that does not register `fastkit`
 * ```
 */
export const gracefulShutdown = fp(
  async function gracefulShutdown(app: FastifyInstance) {
    if (drains.has(app.server)) return
    const state: DrainState = { draining: false, retryAfterSeconds: 1, inFlight: 0, onIdle: [] }
    drains.set(app.server, state)
    // Counted from the moment Node has read a request's head, before Fastify routes it, so a request
    // that is still receiving its body when the drain starts is waited for too. A request is done
    // when its response closes, or its socket does (a response queued behind a cut one never closes).
    const pendingOn = new WeakMap<Socket, number>()
    app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket
      state.inFlight++
      pendingOn.set(socket, (pendingOn.get(socket) ?? 0) + 1)
      let done = false
      const finish = () => {
        if (done) return
        done = true
        socket.off('close', finish)
        pendingOn.set(socket, (pendingOn.get(socket) ?? 1) - 1)
        state.inFlight--
        if (state.inFlight === 0) for (const resolve of state.onIdle.splice(0)) resolve()
      }
      response.once('close', finish)
      socket.once('close', finish)
    })
    // Callback hooks: outside a drain they cost every request a function call, not a promise.
    app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
      if (!state.draining) return done()
      request.log.debug('refused: shutting down')
      sendProblem(
        reply.header('connection', 'close'),
        new ServiceUnavailableError('The server is shutting down; retry on a new connection', {
          headers: { 'retry-after': String(state.retryAfterSeconds) },
        }),
      )
    })
    // A keep-alive connection whose last request finishes during the drain is closed with it. Not
    // when more requests are pipelined behind this one: Node would drop their queued answers.
    app.addHook('onSend', (request, reply, payload, done) => {
      if (state.draining && pendingOn.get(request.raw.socket) === 1) reply.header('connection', 'close')
      done(null, payload)
    })
  },
  { name: 'fastkit.graceful-shutdown', fastify: '5.x' },
)

/**
 * Shuts an app down without dropping work: stops accepting connections, closes idle keep-alive
 * connections, answers requests that arrive on open connections with 503 problem+json and
 * `Connection: close`, waits (up to `deadlineMs`) for the requests already read to be answered, cuts
 * whatever is left, then runs `app.close()`: WebSockets are closed with 1001, the event bus stops and
 * `onClose` hooks run (the database is destroyed there when `fastkit` owns it). Call it from your
 * SIGTERM/SIGINT handler; calling it again returns the same promise.
 *
 * @example
 * ```ts
 * for (const signal of ['SIGINT', 'SIGTERM'] as const) {
 *   process.once(signal, async () => {
 *     await closeGracefully(app, { deadlineMs: 10_000 })
 *     await db.destroy()
 *     process.exit(0)
 *   })
 * }
 * ```
 */
export function closeGracefully(app: FastifyInstance, options: CloseGracefullyOptions = {}): Promise<CloseGracefullyResult> {
  const existing = closing.get(app.server)
  if (existing) return existing
  const state = drains.get(app.server)
  if (!state) {
    throw new Error('closeGracefully() needs the `fastkit` plugin (or `gracefulShutdown`) registered on this app before it started')
  }
  const promise = drainAndClose(app, state, options)
  closing.set(app.server, promise)
  return promise
}

const closing = new WeakMap<Server, Promise<CloseGracefullyResult>>()

async function drainAndClose(app: FastifyInstance, state: DrainState, options: CloseGracefullyOptions): Promise<CloseGracefullyResult> {
  const deadlineMs = options.deadlineMs ?? 10_000
  state.retryAfterSeconds = options.retryAfterSeconds ?? 1
  state.draining = true
  // Stops listening and closes the connections that sit idle between requests (Node >= 19).
  if (app.server.listening) app.server.close()
  let timer: NodeJS.Timeout | undefined
  const drained =
    state.inFlight === 0 ||
    (await Promise.race([
      new Promise<true>((resolve) => state.onIdle.push(() => resolve(true))),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
    ]))
  clearTimeout(timer)
  const cutRequests = state.inFlight
  if (drained) app.server.closeIdleConnections()
  else {
    app.log.warn({ cutRequests, deadlineMs }, 'shutdown deadline reached: cutting the requests still in flight')
    app.server.closeAllConnections()
  }
  await app.close()
  return { drained, cutRequests }
}
