import type { FastifyRequest, FastifyServerOptions } from 'fastify'

/** Query parameters whose values are credentials (compared case-insensitively). */
const SECRET_QUERY_PARAMS = new Set(['token', 'access_token', 'refresh_token', 'id_token', 'password', 'code'])

/** What replaces a credential in a log line. */
const REDACTED = '[redacted]'

/**
 * Where credentials may sit in what an app logs, as pino `redact` paths: request headers (for code
 * that logs `request.headers` or a raw request) and request bodies logged under `body`.
 */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'headers.authorization',
  'headers.cookie',
  'headers["sec-websocket-protocol"]',
  'body.password',
  'body.refresh_token',
  'body.access_token',
  '*.password',
  '*.refresh_token',
  '*.access_token',
]

/**
 * `url` with the values of credential query parameters (`token`, `access_token`, `refresh_token`,
 * `id_token`, `password`, `code`) replaced by `[redacted]`. Other parameters are kept as sent.
 *
 * @example
 * ```ts
 * redactUrl('/ws?token=eyJhbGciOi…&v=2') // '/ws?token=[redacted]&v=2'
 * ```
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?')
  if (at < 0) return url
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const rawKey = eq < 0 ? pair : pair.slice(0, eq)
      let key = rawKey
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '))
      } catch {
        // A malformed escape: compare the raw key.
      }
      return eq >= 0 && SECRET_QUERY_PARAMS.has(key.trim().toLowerCase()) ? `${rawKey}=${REDACTED}` : pair
    })
    .join('&')
  return `${url.slice(0, at)}?${query}`
}

/**
 * The request serializer of {@link logSerializers}: what Fastify logs of a request
 * (`method`, `url`, `host`, `remoteAddress`, `remotePort`), with credentials in the URL redacted and
 * no headers at all (so never `Authorization` nor the WebSocket `bearer, <token>` subprotocol).
 *
 * @example
 * ```ts
 * Fastify({ logger: { serializers: { req: serializeRequest } } })
 * ```
 */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  }
}

/**
 * Logger serializers that keep credentials out of request logs, for Fastify's `logger.serializers`.
 *
 * @example
 * ```ts
 * Fastify({ logger: { level: 'info', serializers: logSerializers } })
 * ```
 */
export const logSerializers = { req: serializeRequest } as const

/**
 * Fastify `logger` options with credentials kept out of every line: {@link logSerializers}
 * for requests (URL tokens redacted, no headers) and pino `redact` paths for headers and bodies that
 * application code logs itself. Takes the app's own `logger` option (`true`, an options object, or
 * `false`/`undefined`, returned as is) and keeps its level, stream and other serializers.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: redactingLogger({ level: process.env.LOG_LEVEL ?? 'info' }) })
 * ```
 */
export function redactingLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return logger
  const options = logger === true ? {} : (logger as Exclude<FastifyServerOptions['logger'], boolean | undefined> & Record<string, unknown>)
  const redact = options.redact as { paths?: string[]; censor?: unknown } | string[] | undefined
  const paths = [...REDACT_PATHS, ...(Array.isArray(redact) ? redact : (redact?.paths ?? []))]
  return {
    ...options,
    serializers: { ...(options.serializers as object | undefined), ...logSerializers },
    redact: { ...(Array.isArray(redact) ? {} : redact), paths, censor: REDACTED },
  } as FastifyServerOptions['logger']
}
