import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
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
 * connection is closed. Part of {@link fastkitServerOptions}.
 *
 * @example
 * ```ts
 * const app = Fastify({ clientErrorHandler: problemClientErrorHandler })
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
 * {@link fastkitServerOptions}.
 *
 * @example
 * ```ts
 * const app = Fastify({ frameworkErrors: problemFrameworkErrors })
 * ```
 */
export function problemFrameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const httpError = toHttpError(error)
  request.log.info({ code: httpError.code, status: httpError.status }, httpError.message)
  sendProblem(reply, httpError)
}

/**
 * The Fastify server options a fastkit app should be created with: what no plugin can set after the
 * server exists. With them, Node's own 400/408/431 answers and Fastify's bad-URL 400 and long-param
 * 414 are problem+json, and requests that arrive while the server closes get the {@link fastkit}
 * plugin's 503 problem (with `Connection: close`) instead of Fastify's plain-JSON one.
 *
 * @example
 * ```ts
 * const app = Fastify({ ...fastkitServerOptions, bodyLimit: 64 * 1024, logger: true })
 * await app.register(fastkit, { db })
 * ```
 */
export const fastkitServerOptions = {
  clientErrorHandler: problemClientErrorHandler,
  frameworkErrors: problemFrameworkErrors,
  // Fastify's own closing answer is plain JSON and runs before any hook; the fastkit plugin answers instead.
  return503OnClosing: false,
} as const satisfies Pick<FastifyServerOptions, 'clientErrorHandler' | 'frameworkErrors' | 'return503OnClosing'>
