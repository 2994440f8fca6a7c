import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { provide } from '../di/provide.js'
import { EventBus } from './event-bus.js'
import { EventPublisher } from './event-publisher.js'
import type { EventTransport } from './event-transport.js'

/**
 * Options of the {@link fastkitEvents} plugin: a transport, or a bus built elsewhere.
 *
 * @example
 * ```ts
 * await app.register(fastkitEvents, { transport: defaultTransport({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }) })
 * ```
 */
export interface FastkitEventsOptions {
  /** How events reach the app's other processes; see {@link defaultTransport}. Default: memory. */
  readonly transport?: EventTransport
  /** A bus built elsewhere (then `transport` is ignored). It is started here and closed with the app. */
  readonly bus?: EventBus
}

/**
 * Real-time events for a fastkit app: starts one {@link EventBus} (`app.events`, and `EventBus` in
 * `app.container`), closes it when the app closes (after the gateway's sockets), and registers
 * {@link EventPublisher} per request, so services can list it in `static inject` and publish events
 * that leave only after their transaction commits. Register after `fastkit`.
 *
 * @example
 * ```ts
 * await app.register(fastkit, { db })
 * await app.register(fastkitEvents, { transport: defaultTransport({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }) })
 * await app.register(fastkitGateway, { authenticate: (token) => app.verifyAccessToken(token) })
 * ```
 */
export const fastkitEvents = fp(
  async function fastkitEvents(app: FastifyInstance, options: FastkitEventsOptions) {
    const bus =
      options.bus ??
      new EventBus({
        ...(options.transport ? { transport: options.transport } : {}),
        onError: (error) => app.log.error({ err: error }, 'event bus error'),
      })
    await bus.start()
    app.container.register(EventBus, { useValue: bus })
    provide(app.container, EventPublisher)
    app.decorate('events', bus)
    app.addHook('onClose', async () => bus.close())
    app.log.debug({ transport: bus.transport.name }, 'event bus started')
  },
  { name: 'fastkit.events', fastify: '5.x', dependencies: ['fastkit'] },
)
