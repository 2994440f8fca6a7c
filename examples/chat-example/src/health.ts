import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ServiceUnavailableError } from 'fastkit'

const Status = z.object({ status: z.literal('ok') })

/** `GET /health` (the process is up) and `GET /ready` (the database answers, else 503). */
export async function health(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  routes.get('/health', { schema: { tags: ['health'], summary: 'The process is up', response: { 200: Status } } }, async () => ({ status: 'ok' as const }))
  routes.get(
    '/ready',
    { schema: { tags: ['health'], summary: 'The database answers', response: { 200: Status } } },
    async (request) => {
      try {
        await sql`select 1`.execute(request.uow.db)
      } catch (error) {
        throw new ServiceUnavailableError('The database does not answer', { cause: error })
      }
      return { status: 'ok' as const }
    },
  )
}
