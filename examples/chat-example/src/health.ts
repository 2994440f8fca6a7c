import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ServiceUnavailableError } from 'fastkit'

const Status = z.object({ status: z.literal('ok') })

/** `/ready` answers within this long whatever the database does (frozen, unreachable, overloaded). */
export const READY_PROBE_TIMEOUT_MS = 1_500

/** `GET /health` (the process is up) and `GET /ready` (the database answers, else 503). */
export async function health(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  routes.get('/health', { schema: { tags: ['health'], summary: 'The process is up', response: { 200: Status } } }, async () => ({ status: 'ok' as const }))
  routes.get(
    '/ready',
    {
      schema: { tags: ['health'], summary: 'The database answers', response: { 200: Status } },
      // Also bounds how long an abandoned probe holds its connection (the client-side timeout follows).
      config: { uow: { statementTimeoutMs: READY_PROBE_TIMEOUT_MS } },
    },
    async (request) => {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_PROBE_TIMEOUT_MS} ms`)), READY_PROBE_TIMEOUT_MS)
      })
      try {
        // Waiting for a pooled connection counts too, so the probe races its own timer.
        await Promise.race([sql`select 1`.execute(request.uow.db), timedOut])
      } catch (error) {
        throw new ServiceUnavailableError('The database does not answer', { cause: error, headers: { 'retry-after': '1' } })
      } finally {
        clearTimeout(timer)
      }
      return { status: 'ok' as const }
    },
  )
}
