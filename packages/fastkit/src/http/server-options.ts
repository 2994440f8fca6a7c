import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Server as HttpServer } from 'node:http'
import type { FastifyBaseLogger, FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCode, HttpError } from './errors.js'
import { problemOf, sendProblem, toHttpError } from './problem-details.js'

interface ClientErrorLike extends Error {
  readonly code?: string
}

/** The status Node's HTTP parser error deserves: Fastify's own choice, which Node's default also makes. */
function clientErrorStatus(error: ClientErrorLike): { status: number; code: string; message: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: ErrorCode.REQUEST_TIMEOUT, message: 'The request took too long to arrive' }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, code: ErrorCode.HEADERS_TOO_LARGE, message: 'The request line or headers are too large' }
  }
  return { status: 400, code: ErrorCode.BAD_REQUEST, message: 'The request is not valid HTTP' }
}

/**
 * Fastify's `clientErrorHandler` for answers Node gives before Fastify sees a request (a malformed
 * request line or header, headers over `maxHeaderSize`, a request that took longer than
 * `requestTimeout` to arrive): 400, 431 or 408 with an `application/problem+json` body, then the
 * connection is closed. Part of {@link serverOptions}.
 *
 * @example
 * ```ts
 * const app = Fastify(serverOptions()) // sets clientErrorHandler
 * ```
 */
export function problemClientErrorHandler(this: FastifyInstance | undefined, error: ClientErrorLike, socket: Socket): void {
  // A reset connection has nobody left to answer (Node's and Fastify's defaults do the same).
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const { status, code, message } = clientErrorStatus(error)
  this?.log.trace({ err: error }, 'client error')
  // Node may report a parse error on a socket that is already sending a response: a second status
  // line would corrupt it, so only a socket with no response under way gets one.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(problemOf(new HttpError({ status, code, message })))
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}

/**
 * Fastify's `frameworkErrors` handler: a malformed URL (`GET /%`) becomes a 400 and a path parameter
 * over `maxParamLength` a 414, both as problem+json instead of Fastify's plain JSON. Part of
 * {@link serverOptions}.
 *
 * @example
 * ```ts
 * const app = Fastify(serverOptions()) // sets frameworkErrors
 * ```
 */
export function problemFrameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const httpError = toHttpError(error)
  request.log.info({ code: httpError.code, status: httpError.status }, httpError.message)
  sendProblem(reply, httpError)
}

/** The timeouts {@link serverOptions} sets: none of them is set by Fastify or Node's defaults, or too lax. */
const TIMEOUTS = {
  requestTimeout: 15_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 10_000,
} as const
const HTTP_TIMEOUTS = { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 } as const

/** The timeouts {@link serverOptions} always returns (its own, or the overrides'), so they can be read back. */
export interface ServerTimeouts {
  readonly requestTimeout: number
  readonly connectionTimeout: number
  readonly keepAliveTimeout: number
  readonly http: { readonly headersTimeout: number; readonly connectionsCheckingInterval: number }
}

/**
 * The Fastify server options a fastkit app should be created with: what no plugin can set after the
 * server exists, with `overrides` on top (`http` is merged key by key, the rest replaced).
 *
 * Error answers: Node's own 400/408/431 answers and Fastify's bad-URL 400 and long-param 414 are
 * problem+json, and requests that arrive while the server closes get the {@link fastkit} plugin's 503
 * problem (with `Connection: close`) instead of Fastify's plain-JSON one.
 *
 * Timeouts, so that no client can hold a socket (and the memory behind it) for as long as it likes
 * (Fastify's own defaults leave the request and socket timeouts off, and Node checks its request and
 * header deadlines only every 30 s):
 *
 * | option | value | what it bounds |
 * | --- | --- | --- |
 * | `requestTimeout` | 15 000 ms | receiving one whole request, headers and body: a client that trickles its body is cut off (408) |
 * | `http.headersTimeout` | 10 000 ms | receiving the request headers (slowloris) |
 * | `http.connectionsCheckingInterval` | 1 000 ms | how often Node enforces the two above (its default is 30 s) |
 * | `keepAliveTimeout` | 10 000 ms | an idle keep-alive connection; raise it above a load balancer's idle timeout if one sits in front |
 * | `connectionTimeout` | 60 000 ms | a socket with no traffic at all, handler time included: keep it above your slowest route |
 *
 * @example
 * ```ts
 * const app = Fastify(serverOptions({ bodyLimit: 64 * 1024, logger: true }))
 * await app.register(fastkit, { db })
 * serverOptions().requestTimeout // 15_000
 * ```
 */
export function serverOptions<Logger extends FastifyBaseLogger = FastifyBaseLogger>(
  overrides: FastifyHttpOptions<HttpServer, Logger> = {},
): FastifyHttpOptions<HttpServer, Logger> & ServerTimeouts {
  return {
    ...TIMEOUTS,
    clientErrorHandler: problemClientErrorHandler,
    frameworkErrors: problemFrameworkErrors,
    // Fastify's own closing answer is plain JSON and runs before any hook; the fastkit plugin answers instead.
    return503OnClosing: false,
    ...overrides,
    http: { ...HTTP_TIMEOUTS, ...overrides.http },
    // The timeouts are numbers unless an override sets one to `undefined` on purpose, which Fastify reads as its default.
  } as FastifyHttpOptions<HttpServer, Logger> & ServerTimeouts
}
