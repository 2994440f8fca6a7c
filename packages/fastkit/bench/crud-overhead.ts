/**
 * How much does fastkit cost per request? Serves the same `GET /items/:id` and `POST /items` two ways in
 * one process, on the same database, and reports the ratio of their throughputs:
 *
 * - baseline: a hand-written Fastify route, zod-validated, querying Kysely directly (no DI, no unit of
 *   work, no repository);
 * - fastkit: the generated routes of a BaseRouter (request container, unit of work, service, repository,
 *   response filtering, problem+json).
 *
 * `POST` compares against an autocommitted insert; `POST-TX` against the same insert in an explicit
 * transaction, which is what fastkit's unit of work sends (BEGIN, INSERT, COMMIT).
 *
 * Run: `pnpm bench:inject` (PGlite) or `DATABASE_URL=postgres://… pnpm bench:inject`. Requests go through
 * `app.inject()`, so the network is not measured; rounds alternate to share the machine's noise.
 */
import Fastify from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { createDatabase, fastkit, migrateToLatest } from '../src/index.js'
import { ItemCreate, ItemRead, ItemRouter } from '../test/support/item-resource.js'
import { testMigrations, type TestDB } from '../test/support/schema.js'

const url = process.env.DATABASE_URL ?? 'memory://'
const db = createDatabase<TestDB>({ url })
await migrateToLatest(db, { migrations: testMigrations })
await db.deleteFrom('items').execute()

const framework = Fastify()
await framework.register(fastkit, { db })
await framework.register(new ItemRouter().plugin)

const baseline = Fastify()
baseline.setValidatorCompiler(validatorCompiler)
baseline.setSerializerCompiler(serializerCompiler)
const routes = baseline.withTypeProvider<ZodTypeProvider>()
routes.get('/items/:id', { schema: { params: z.object({ id: z.uuid() }), response: { 200: ItemRead, 404: z.null() } } }, async (request, reply) => {
  const row = await db.selectFrom('items').selectAll().where('id', '=', request.params.id).executeTakeFirst()
  if (!row) return reply.code(404).send(null)
  return row
})
routes.post('/items', { schema: { body: ItemCreate, response: { 201: ItemRead } } }, async (request, reply) => {
  const row = await db.insertInto('items').values(request.body).returningAll().executeTakeFirstOrThrow()
  return reply.code(201).send(row)
})
// fastkit wraps every write in BEGIN/COMMIT (the unit of work); this baseline route does the same, so
// the ratio against it is the framework's own cost, not the transaction's.
routes.post('/tx/items', { schema: { body: ItemCreate, response: { 201: ItemRead } } }, async (request, reply) => {
  const row = await db.transaction().execute((trx) => trx.insertInto('items').values(request.body).returningAll().executeTakeFirstOrThrow())
  return reply.code(201).send(row)
})
await Promise.all([framework.ready(), baseline.ready()])

const seed = await db.insertInto('items').values({ name: 'seed', qty: 1 }).returningAll().executeTakeFirstOrThrow()
let counter = 0

type Kind = 'get' | 'post' | 'post-tx'

async function round(app: typeof framework, kind: Kind, n: number): Promise<number> {
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const res =
      kind === 'get'
        ? await app.inject({ method: 'GET', url: `/items/${seed.id}` })
        : await app.inject({ method: 'POST', url: kind === 'post-tx' && app === baseline ? '/tx/items' : '/items', payload: { name: `n${counter++}`, qty: 1 } })
    if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${res.body}`)
  }
  return Number(process.hrtime.bigint() - started) / 1e6
}

const N = Number(process.env.BENCH_REQUESTS ?? 500)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
for (const kind of ['get', 'post', 'post-tx'] as const) {
  await round(framework, kind, 50) // warm-up
  await round(baseline, kind, 50)
  let fk = 0
  let base = 0
  for (let r = 0; r < ROUNDS; r++) {
    base += await round(baseline, kind, N)
    fk += await round(framework, kind, N)
  }
  const perReq = (ms: number) => ((ms / (N * ROUNDS)) * 1000).toFixed(0)
  console.log(
    `${kind.toUpperCase().padEnd(7)} ${url.startsWith('postgres') ? 'postgres' : 'pglite'}: baseline ${perReq(base)} µs/req, fastkit ${perReq(fk)} µs/req, ratio ${(fk / base).toFixed(2)}`,
  )
}
await framework.close()
await baseline.close()
await db.destroy()
