import type { ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DependencyContainer } from 'tsyringe'
import type { Kysely } from 'kysely'
import { UnitOfWork } from '../uow/unit-of-work.js'
import { disposeBuilt, disposeContainer, markDisposed } from '../di/provide.js'

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
/** Set when the client hung up after the request's `singleWrite` unit sent its write (see the close listener). */
const abandoned = Symbol('fastkit.scopeAbandoned')
type ScopedRequest = FastifyRequest & { [finished]?: boolean; [abandoned]?: boolean }
/** The request a response belongs to, for the one shared 'close' listener. */
const scopeOf = Symbol('fastkit.scopeRequest')
type ScopedResponse = ServerResponse & { [scopeOf]?: ScopedRequest }

/**
 * Gives every request a child DI container with the request's {@link UnitOfWork} registered in it.
 *
 * The unit commits in `onSend`, so a client never gets a 2xx for a write that is then lost: a failed
 * commit becomes the response instead. Any status >= 400 rolls back (the answer does not wait for
 * it). On every ending (response sent, client aborted, timeout) the unit is rolled back if still open
 * and the child container disposed.
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

    // Callback-style hooks with synchronous fast paths: a request that only read (no transaction, no
    // callbacks, nothing to dispose) costs no promise at its end.
    app.addHook('onRequest', (request, reply, done) => {
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
      // closing before it finished is the one signal that covers every method. One shared listener
      // (the response emits 'close' once), not a closure per request.
      ;(reply.raw as ScopedResponse)[scopeOf] = request
      reply.raw.on('close', onClose)
      done()
    })

    function onClose(this: ScopedResponse): void {
      const request = this[scopeOf]
      if (this.writableFinished || !request) return
      // A singleWrite unit's write stands once sent (PostgreSQL commits it as it runs), so rolling
      // the unit back now would only drop the after-commit work of a stored row (its events). The
      // handler runs on, and Fastify still calls onSend with its outcome (never onResponse): the
      // unit ends there, as it would have with the client still connected.
      if (request.uow.writeSent) {
        request[abandoned] = true
        return
      }
      finish(request).catch((error: unknown) => request.log.error({ err: error }, 'request scope cleanup failed'))
    }

    app.addHook('onSend', (request: ScopedRequest, reply: FastifyReply, payload, done) => {
      const uow = request.uow
      if (request[abandoned]) {
        // Nobody waits for this answer: end the unit as the handler's outcome says, then the scope.
        const end = uow.state !== 'open' ? Promise.resolve() : reply.statusCode >= 400 ? uow.rollback() : uow.commit()
        end
          .catch((error: unknown) => request.log.error({ err: error }, 'commit after the client hung up failed'))
          .then(() => finish(request))
          .catch((error: unknown) => request.log.error({ err: error }, 'request scope cleanup failed'))
        return done(null, payload)
      }
      if (uow?.state !== 'open') return done(null, payload)
      if (reply.statusCode >= 400) {
        // The answer does not wait for the rollback: nothing of the unit was committed or will be,
        // and a database that hangs (a BEGIN stuck on a frozen server) must not hold up the error.
        uow.rollback().catch((error: unknown) => request.log.error({ err: error }, 'rollback failed'))
        return done(null, payload)
      }
      if (uow.commitIfIdle()) return done(null, payload)
      uow.commit().then(() => done(null, payload), done)
    })

    async function finish(request: ScopedRequest): Promise<void> {
      if (!request.uow || request[finished]) return
      request[finished] = true
      await request.uow.rollback()
      await disposeContainer(request.container)
    }
    app.addHook('onResponse', (request: ScopedRequest, _reply, done) => {
      // The common ending: the unit already committed (or rolled back) in onSend.
      if (request.uow && !request[finished] && request.uow.state !== 'open') {
        request[finished] = true
        const container = request.container
        const built = disposeBuilt(container)
        if (built) return void built.finally(() => markDisposed(container)).then(() => done(), done)
        // Marks the container disposed (later resolves throw); nothing of fastkit's to wait for.
        markDisposed(container)?.catch((error: unknown) => request.log.error({ err: error }, 'request scope cleanup failed'))
        return done()
      }
      finish(request).then(() => done(), done)
    })
    app.addHook('onRequestAbort', finish)
    app.addHook('onTimeout', finish)
  },
  { name: 'fastkit.request-scope', fastify: '5.x' },
)
