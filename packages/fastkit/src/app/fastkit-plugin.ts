import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { container as globalContainer, type DependencyContainer } from 'tsyringe'
import { validatorCompiler } from 'fastify-type-provider-zod'
import { requestScope } from '../request-scope/request-scope.js'
import { Database, Logger } from '../di/core-tokens.js'
import { ErrorCode, HttpError, ServiceUnavailableError, ValidationError } from '../http/errors.js'
import { problemDetails, sendProblem } from '../http/problem-details.js'
import { responseSerializerCompiler } from '../http/response-serializer.js'
import { unstorableText } from '../http/storable-text.js'
import { gracefulShutdown } from './graceful-shutdown.js'

/**
 * Options of the {@link fastkit} plugin.
 *
 * @example
 * ```ts
 * await app.register(fastkit, { db: createDatabase<DB>(url), ownsDatabase: true })
 * ```
 */
export interface FastkitOptions {
  /** The database, usually from `createDatabase()`. Not destroyed when the app closes unless `ownsDatabase`. */
  readonly db: Kysely<any>
  /** The root container; defaults to a fresh child of tsyringe's global container. */
  readonly container?: DependencyContainer
  /** Destroy `db` in `onClose`. Default false. */
  readonly ownsDatabase?: boolean
  /** Longest request URL (path and query) answered; longer ones get a 414. Default 8192 characters. */
  readonly maxUrlLength?: number
}

/** `application/json; charset=latin1` and the like: JSON is UTF-8 (RFC 8259), so another charset is a 415. */
function hasForeignCharset(contentType: string): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]
  return charset !== undefined && !/^utf-?8$/i.test(charset)
}

/**
 * The core of a fastkit app: zod validation and response serialization, problem+json errors, the
 * root DI container (`app.container`, holding {@link Database} and {@link Logger}) and a
 * request scope with a unit of work per request. It also refuses, as problem+json, what no route
 * should see: strings PostgreSQL cannot store (NUL, lone surrogates: 400 naming the field), URLs over
 * `maxUrlLength` (414), text/plain or non-UTF-8 bodies (415), and requests arriving while the app
 * closes (503, `Connection: close`; create the server with {@link serverOptions}).
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(fastkit, { db: createDatabase<DB>({ url }) })
 * await app.register(new TaskRouter().plugin)
 * ```
 */
export const fastkit = fp(
  async function fastkit(app: FastifyInstance, options: FastkitOptions) {
    const container = options.container ?? globalContainer.createChildContainer()
    container.register(Database, { useValue: options.db })
    container.register(Logger, { useValue: app.log })
    app.decorate('container', container)
    app.decorate('db', options.db)
    app.setValidatorCompiler(validatorCompiler)
    app.setSerializerCompiler(responseSerializerCompiler)
    await app.register(problemDetails)
    // fastkit routes take JSON (or a parser the app adds on purpose): a text/plain body is a 415, not
    // a string that fails the body schema with a misleading 400.
    app.removeContentTypeParser('text/plain')
    const maxUrlLength = options.maxUrlLength ?? 8192
    let closing = false
    app.addHook('preClose', (done) => {
      closing = true
      done()
    })
    // Callback-style hooks: no promise per request on the hot path.
    app.addHook('onRequest', (request, reply, done) => {
      if (closing) {
        // Fastify's own closing answer is off (serverOptions()) so that this one is problem+json.
        reply.header('connection', 'close')
        return void sendProblem(reply, new ServiceUnavailableError('The server is shutting down; retry', { headers: { 'retry-after': '1' } }))
      }
      if (request.url.length > maxUrlLength) {
        const error = new HttpError({ status: 414, code: ErrorCode.URI_TOO_LONG, message: `The URL is longer than ${maxUrlLength} characters` })
        return void sendProblem(reply, error)
      }
      const { 'content-type': contentType, 'content-length': length, 'transfer-encoding': chunked } = request.headers
      if (contentType?.includes('charset') && hasForeignCharset(contentType) && ((length !== undefined && length !== '0') || chunked)) {
        const error = new HttpError({ status: 415, code: ErrorCode.UNSUPPORTED_MEDIA_TYPE, message: 'Request bodies must be UTF-8' })
        return void sendProblem(reply, error)
      }
      done()
    })
    // Before validation and before any SQL: PostgreSQL cannot store these strings (a NUL is error
    // 22021, a lone surrogate would silently become U+FFFD), so they are the client's 400.
    app.addHook('preValidation', (request, _reply, done) => {
      const issues = unstorableText(request.params, 'params')
      issues.push(...unstorableText(request.query, 'querystring'), ...unstorableText(request.body, 'body'))
      if (issues.length === 0) return done()
      const first = issues[0]!
      done(new ValidationError(`Invalid ${first.path}: ${first.message}`, issues))
    })

    await app.register(gracefulShutdown)
    await app.register(requestScope, { db: options.db, container })
    if (options.ownsDatabase) app.addHook('onClose', async () => options.db.destroy())
  },
  { name: 'fastkit', fastify: '5.x' },
)
