import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { container as globalContainer, type DependencyContainer } from 'tsyringe'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { requestScope } from '../di/request-scope.js'
import { Database, Logger } from '../di/tokens.js'
import { problemDetails } from '../http/problem-details.js'
import { gracefulShutdown } from './graceful-shutdown.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's root DI container: singletons live here; each request gets a child of it. */
    container: DependencyContainer
    /** The app's `Kysely` (outside requests; inside one, use `request.uow.db` or a repository). */
    db: Kysely<any>
  }
}

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
}

/**
 * The core of a fastkit app: zod validation and response serialization, problem+json errors, the
 * root DI container (`app.container`, holding {@link Database} and {@link Logger}) and a
 * request scope with a unit of work per request.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(fastkit, { db: createDatabase<DB>({ url }) })
 * await app.register(new MessageRouter().plugin)
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
    app.setSerializerCompiler(serializerCompiler)
    await app.register(problemDetails)
    await app.register(gracefulShutdown)
    await app.register(requestScope, { db: options.db, container })
    if (options.ownsDatabase) app.addHook('onClose', async () => options.db.destroy())
  },
  { name: 'fastkit', fastify: '5.x' },
)
