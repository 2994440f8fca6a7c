import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DependencyContainer } from 'tsyringe'
import type { Kysely } from 'kysely'
import { UnitOfWork } from '../uow/unit-of-work.js'
import { disposeContainer } from '../di/provide.js'

/**
 * Options of {@link requestScope}: the database each request's unit of work runs on, and the root container.
 *
 * @example
 * ```ts
 * await app.register(requestScope, { db, container: app.container })
 * ```
 */
export interface RequestScopeOptions {
  readonly db: Kysely<any>
  readonly container: DependencyContainer
}

const finished = Symbol('fastkit.scopeFinished')
type ScopedRequest = FastifyRequest & { [finished]?: boolean }

/**
 * Gives every request a child DI container with the request's {@link UnitOfWork} registered in it.
 *
 * The unit commits in `onSend`, so a client never gets a 2xx for a write that is then lost: a failed
 * commit becomes the response instead. Any status >= 400 rolls back. On every ending (response sent,
 * client aborted, timeout) the unit is rolled back if still open and the child container disposed.
 * The {@link fastkit} plugin registers it; register it yourself only without that plugin.
 *
 * @example
 * ```ts
 * await app.register(requestScope, { db, container: app.container })
 * app.get('/count', async (request) => request.uow.db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n')).execute())
 * ```
 */
export const requestScope = fp(
  async function requestScope(app: FastifyInstance, options: RequestScopeOptions) {
    app.decorateRequest('container', null as unknown as DependencyContainer)
    app.decorateRequest('uow', null as unknown as UnitOfWork)

    app.addHook('onRequest', async (request, reply) => {
      const uow = new UnitOfWork(options.db, {
        ...request.routeOptions.config.uow,
        onCallbackError: (error) => request.log.error({ err: error }, 'after-commit callback failed'),
      })
      const container = options.container.createChildContainer()
      container.registerInstance(UnitOfWork, uow)
      request.uow = uow
      request.container = container
      // Fastify's onRequestAbort only fires while the request body is still unread, so a client that
      // hangs up during the handler of a POST would otherwise get its write committed. The response
      // closing before it finished is the one signal that covers every method.
      reply.raw.once('close', () => {
        if (reply.raw.writableFinished) return
        finish(request).catch((error: unknown) => request.log.error({ err: error }, 'request scope cleanup failed'))
      })
    })

    app.addHook('onSend', async (request, reply: FastifyReply, payload) => {
      const uow = request.uow
      if (uow?.state === 'open') {
        if (reply.statusCode < 400) await uow.commit()
        else await uow.rollback()
      }
      return payload
    })

    async function finish(request: ScopedRequest): Promise<void> {
      if (!request.uow || request[finished]) return
      request[finished] = true
      await request.uow.rollback()
      await disposeContainer(request.container)
    }
    app.addHook('onResponse', finish)
    app.addHook('onRequestAbort', finish)
    app.addHook('onTimeout', finish)
  },
  { name: 'fastkit.request-scope', fastify: '5.x' },
)
