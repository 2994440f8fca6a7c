import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { z } from 'zod'
import { ConflictError, EventPublisher, fastkitEvents, fastkit, fastkitGateway, type EventTransport, type FastkitGatewayOptions } from '../../src/index.js'
import type { TestDB } from './schema.js'
import { verifyTestToken } from './events-tokens.js'

export const ALLOWED_ORIGIN = 'https://chat.example'

const PublishBody = z.object({
  name: z.string().min(1),
  topics: z.array(z.string()).min(1),
  type: z.string().min(1),
  data: z.unknown().optional(),
  /** Throw after publishing, so the unit of work rolls back. */
  fail: z.boolean().optional(),
})

/**
 * The app the gateway tests (and the two-process fixture server) run: fastkit + event bus + gateway,
 * and `POST /items`, which inserts a row and publishes an event in the same unit of work.
 */
export async function buildEventsApp(options: {
  db: Kysely<TestDB>
  transport?: EventTransport
  gateway?: Partial<FastkitGatewayOptions>
}): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'silent' } })
  await app.register(fastkit, { db: options.db })
  await app.register(fastkitEvents, options.transport ? { transport: options.transport } : {})
  await app.register(fastkitGateway, {
    authenticate: verifyTestToken,
    allowedOrigins: [ALLOWED_ORIGIN],
    ...options.gateway,
  })
  app.post('/items', { schema: { body: PublishBody } }, async (request, reply) => {
    const body = request.body as z.infer<typeof PublishBody>
    const events = request.container.resolve(EventPublisher)
    const row = await request.uow.db.insertInto('items').values({ name: body.name }).returning(['id', 'name']).executeTakeFirstOrThrow()
    events.publish(body.topics, { type: body.type, data: body.data ?? row })
    if (body.fail) throw new ConflictError('rolled back on purpose')
    return reply.code(201).send(row)
  })
  return app
}
