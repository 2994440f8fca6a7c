import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { mapDatabaseError } from './database-error-mapping.js'
import { ErrorCode, HttpError, isHttpError, NotFoundError, ValidationError, type FieldIssue } from './errors.js'

/**
 * The RFC 9457 body every error response has. Also used as the error schema in OpenAPI (`BaseRouter`
 * documents it as every route's `4XX` response).
 *
 * @example
 * ```ts method-body=TaskRouter
 * const ImportBody = z.object({ csv: z.string() })
 * const ImportResult = z.object({ imported: z.number().int() })
 * this.route({
 *   method: 'POST', url: '/import', body: ImportBody, response: ImportResult, responses: { 422: ProblemSchema },
 *   handler: async ({ body }) => ({ imported: body.csv.split('\n').length }),
 * })
 * ```
 */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    // Bounded, so generated examples show an error status, not -9007199254740991.
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem details object' })

/**
 * A problem+json body, as a client receives it.
 *
 * @example
 * ```ts
 * const res = await fetch('http://localhost:3000/tasks', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
 * const problem = (await res.json()) as Problem // { type, title, status, detail, code, errors? }
 * ```
 */
export type Problem = z.infer<typeof ProblemSchema>

const STATUS_CODE_NAMES: Record<number, string> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  408: ErrorCode.REQUEST_TIMEOUT,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  414: ErrorCode.URI_TOO_LONG,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  431: ErrorCode.HEADERS_TOO_LARGE,
  503: ErrorCode.SERVICE_UNAVAILABLE,
}

interface ValidationIssueLike {
  readonly instancePath?: string
  readonly message?: string
  readonly params?: Record<string, unknown>
}

/**
 * Formats schema-validation issues as `{ path, message }`, with the request part as the first path
 * segment: `body.memberIds.2`, `querystring.limit`.
 *
 * @example
 * ```ts
 * formatValidationIssues([{ instancePath: '/memberIds/2', message: 'Invalid UUID' }], 'body')
 * // [{ path: 'body.memberIds.2', message: 'Invalid UUID' }]
 * ```
 */
export function formatValidationIssues(issues: readonly ValidationIssueLike[], context?: string): FieldIssue[] {
  return issues.map((issue) => {
    const segments = (issue.instancePath ?? '').split('/').filter(Boolean)
    const missingKey = typeof issue.params?.missingProperty === 'string' ? [issue.params.missingProperty] : []
    const keys = Array.isArray(issue.params?.keys) ? issue.params.keys.map(String) : []
    const path = [context, ...segments, ...missingKey].filter(Boolean).join('.')
    const message = keys.length ? `${issue.message ?? 'is invalid'}: ${keys.join(', ')}` : (issue.message ?? 'is invalid')
    return { path: path || (context ?? ''), message }
  })
}

/**
 * Turns anything thrown into an {@link HttpError}: fastkit errors pass through; schema validation
 * errors, Fastify's own client errors (bad JSON, body too large, unsupported media type) and
 * database constraint violations become 4xx; everything else is a 500 whose internals stay private.
 *
 * @example
 * ```ts
 * import type { RawData, WebSocket } from 'ws'
 * declare const socket: WebSocket
 * declare function handle(raw: RawData): Promise<void> // your message handler
 * socket.on('message', (raw) => handle(raw).catch((error) => socket.send(JSON.stringify(problemOf(toHttpError(error))))))
 * ```
 */
export function toHttpError(error: unknown): HttpError {
  if (isHttpError(error)) return error
  const mapped = mapDatabaseError(error)
  if (mapped) return mapped
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string }
  if (Array.isArray(fastifyError.validation)) {
    const context = fastifyError.validationContext
    const issues = formatValidationIssues(fastifyError.validation as ValidationIssueLike[], context)
    const first = issues[0]
    return new ValidationError(first ? `Invalid ${first.path || 'input'}: ${first.message}` : 'Invalid input', issues, {
      cause: error,
    })
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = STATUS_CODE_NAMES[status] ?? ErrorCode.BAD_REQUEST
    const headers = status === 401 ? { 'www-authenticate': 'Bearer' } : undefined
    return new HttpError({
      status,
      code,
      message: fastifyError.message ?? STATUS_CODES[status] ?? 'Bad request',
      cause: error,
      ...(headers ? { headers } : {}),
    })
  }
  return new HttpError({ status: 500, code: ErrorCode.INTERNAL, message: 'Internal server error', cause: error })
}

/**
 * Builds the problem+json body of an {@link HttpError}.
 *
 * @example
 * ```ts
 * problemOf(new NotFoundError('Chat not found'))
 * // { type: 'about:blank', title: 'Not Found', status: 404, detail: 'Chat not found', code: 'NOT_FOUND' }
 * ```
 */
export function problemOf(error: HttpError): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(error.issues && error.issues.length > 0 ? { errors: [...error.issues] } : {}),
  }
}

/**
 * Sends `error` as `application/problem+json`, with its status and headers.
 *
 * @example
 * ```ts
 * let maintenance = false
 * app.addHook('onRequest', async (request, reply) => {
 *   if (maintenance) return sendProblem(reply, new ServiceUnavailableError('Down for maintenance'))
 * })
 * ```
 */
export function sendProblem(reply: FastifyReply, error: HttpError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value)
  return reply.code(error.status).type('application/problem+json').serializer(JSON.stringify).send(problemOf(error))
}

/**
 * A route URL as a regular expression over request paths, to tell "no such path" (404) from "no such
 * method on this path" (405). Parameters (`:id`, `:id(^\\d+)`, `:a-:b`) match one segment and a `*`
 * the rest: a parameter's own regex is not applied, so such a path may get a 405 where Fastify's
 * router would not have matched it at all.
 */
function pathPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : /[:*]/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}

/**
 * The one place errors become responses: sets the error handler and the not-found handler so every
 * error, fastkit's, Fastify's or the database's, is an RFC 9457 problem with a stable `code`. A known
 * path asked with a method it does not take is a 405 with an `Allow` header (routes registered after
 * this plugin are known), an unknown path a 404.
 * 5xx errors are logged with their cause; 4xx are logged at `info`. The {@link fastkit} plugin registers it.
 *
 * @example
 * ```ts
 * await app.register(problemDetails) // only for an app that does not register `fastkit`
 * ```
 */
export const problemDetails = fp(
  async function problemDetails(app: FastifyInstance) {
    app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const httpError = toHttpError(error)
      if (httpError.status >= 500) request.log.error({ err: error }, 'request failed')
      else request.log.info({ code: httpError.code, status: httpError.status }, httpError.message)
      return sendProblem(reply, httpError)
    })
    const routes = new Map<string, { readonly pattern: RegExp; readonly methods: Set<string> }>()
    app.addHook('onRoute', (route) => {
      let entry = routes.get(route.url)
      if (!entry) routes.set(route.url, (entry = { pattern: pathPattern(route.url), methods: new Set() }))
      for (const method of [route.method].flat()) entry.methods.add(method)
    })
    app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0]!
      const allowed = new Set<string>()
      for (const { pattern, methods } of routes.values()) if (pattern.test(path)) for (const method of methods) allowed.add(method)
      if (allowed.size > 0 && !allowed.has(request.method)) {
        const allow = [...allowed].sort().join(', ')
        return sendProblem(
          reply,
          new HttpError({
            status: 405,
            code: ErrorCode.METHOD_NOT_ALLOWED,
            message: `Method ${request.method} is not allowed on ${path}; allowed: ${allow}`,
            headers: { allow },
          }),
        )
      }
      return sendProblem(reply, new NotFoundError(`Route ${request.method} ${path} not found`))
    })
  },
  { name: 'fastkit.problem-details', fastify: '5.x' },
)
