import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { fastkit, UnauthorizedError } from '../../src/index.js'

/**
 * A fastkit app over `db` for HTTP tests. `authenticate` is a stand-in for the auth plugin (tested on
 * its own): a request is authenticated when it carries `x-test-user`.
 */
export async function buildTestApp(db: Kysely<any>, register: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(fastkit, { db })
  app.decorate('authenticate', async (request: { headers: Record<string, unknown> }) => {
    if (!request.headers['x-test-user']) throw new UnauthorizedError()
  })
  await register(app)
  await app.ready()
  return app
}
