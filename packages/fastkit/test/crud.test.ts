import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { CompiledQuery, sql } from 'kysely'
import { z } from 'zod'
import { BaseRouter, ForbiddenError } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { buildTestApp } from './support/app.js'
import { useTestDatabase } from './support/harness.js'
import { ItemCreate, ItemRead, ItemRouter, ItemService, ItemUpdate } from './support/item-resource.js'

describe.each(dialectsUnderTest())('BaseRouter CRUD over HTTP on %s', (kind) => {
  const t = useTestDatabase(kind)
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestApp(t.db, async (app) => {
      await app.register(new ItemRouter().plugin)
    })
  })
  afterAll(() => app.close())

  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/items', payload: payload as object })
  const list = async (query: string) => {
    const res = await app.inject(`/items?${query}`)
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { items: Array<z.input<typeof ItemRead>>; nextCursor: string | null; total?: number }
  }
  const seed = async (n: number) => {
    const rows = Array.from({ length: n }, (_, i) => ({ name: `item-${String(i).padStart(3, '0')}`, qty: i % 7, owner: i % 3 ? `o${i % 3}` : null }))
    await t.db.insertInto('items').values(rows).execute()
  }

  test('POST / creates and answers 201 with exactly the read schema’s fields', async () => {
    const res = await post({ name: '  apple ', qty: 3, sneaky: 'dropped' })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'id', 'name', 'owner', 'qty'])
    expect(body).toMatchObject({ name: 'apple', qty: 3, owner: null })
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt)
  })

  test('an invalid body is a 400 problem naming each bad field, and nothing is written', async () => {
    const res = await post({ name: '', qty: -1 })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/)
    const problem = res.json()
    expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', title: 'Bad Request' })
    expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.name', 'body.qty'])
    expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
  })

  test('a unique violation is a 409 CONFLICT, not a 500', async () => {
    expect((await post({ name: 'dup', qty: 1 })).statusCode).toBe(201)
    const res = await post({ name: 'dup', qty: 2 })
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({ code: 'CONFLICT', detail: 'name already exists' })
  })

  test('GET /:id answers 200, 404 for a missing id and 400 for a malformed one', async () => {
    const created = (await post({ name: 'pear', qty: 1 })).json()
    expect((await app.inject(`/items/${created.id}`)).json()).toEqual(created)
    const missing = await app.inject('/items/00000000-0000-4000-8000-000000000000')
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND' })
    const bad = await app.inject('/items/not-a-uuid')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0].path).toBe('params.id')
  })

  test('PATCH changes only the given fields; PUT needs the full body', async () => {
    const created = (await post({ name: 'plum', qty: 1, owner: 'ann' })).json()
    const patched = await app.inject({ method: 'PATCH', url: `/items/${created.id}`, payload: { qty: 9 } })
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({ name: 'plum', qty: 9, owner: 'ann' })
    const incomplete = await app.inject({ method: 'PUT', url: `/items/${created.id}`, payload: { qty: 2 } })
    expect(incomplete.statusCode).toBe(400)
    const replaced = await app.inject({ method: 'PUT', url: `/items/${created.id}`, payload: { name: 'prune', qty: 2, owner: null } })
    expect(replaced.statusCode).toBe(200)
    expect(replaced.json()).toMatchObject({ name: 'prune', qty: 2, owner: null })
    const absent = await app.inject({ method: 'PATCH', url: '/items/00000000-0000-4000-8000-000000000000', payload: { qty: 1 } })
    expect(absent.statusCode).toBe(404)
  })

  test('DELETE answers 204, then the item is gone', async () => {
    const created = (await post({ name: 'fig', qty: 1 })).json()
    const res = await app.inject({ method: 'DELETE', url: `/items/${created.id}` })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await app.inject(`/items/${created.id}`)).statusCode).toBe(404)
    expect((await app.inject({ method: 'DELETE', url: `/items/${created.id}` })).statusCode).toBe(404)
  })

  test('cursor pages visit every row exactly once, in order', async () => {
    await seed(53)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Awaited<ReturnType<typeof list>> = await list(`limit=10&sort=name${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...page.items.map((i) => i.name))
      cursor = page.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(6)
    expect(seen).toEqual([...seen].sort())
    expect(new Set(seen).size).toBe(53)
  })

  test('pages stay stable while rows are inserted between them', async () => {
    await seed(30)
    const first = await list('limit=10&sort=-createdAt')
    // New rows sort before the cursor (newest first): they must not shift or repeat later pages.
    await t.db.insertInto('items').values([{ name: 'new-1' }, { name: 'new-2' }, { name: 'new-3' }]).execute()
    const second = await list(`limit=10&sort=-createdAt&cursor=${first.nextCursor}`)
    const third = await list(`limit=10&sort=-createdAt&cursor=${second.nextCursor}`)
    const names = [...first.items, ...second.items, ...third.items].map((i) => i.name)
    expect(new Set(names).size).toBe(30)
    expect(names.some((n) => n.startsWith('new-'))).toBe(false)
    expect(third.nextCursor).toBeNull()
  })

  test('sort by several keys, descending, with nulls', async () => {
    await seed(20)
    const page = await list('limit=100&sort=-qty,name')
    const expected = [...page.items].sort((a, b) => b.qty - a.qty || a.name.localeCompare(b.name))
    expect(page.items.map((i) => i.name)).toEqual(expected.map((i) => i.name))
  })

  test('filters: eq, ne, lt, gte, in, contains, isNull, combined', async () => {
    await seed(30)
    const all = await list('limit=100')
    const names = (q: string) => list(`limit=100&${q}`).then((p) => p.items.map((i) => i.name).sort())
    const expectNames = (pred: (i: (typeof all.items)[number]) => boolean) => all.items.filter(pred).map((i) => i.name).sort()
    expect(await names('qty=3')).toEqual(expectNames((i) => i.qty === 3))
    expect(await names('qty[ne]=3')).toEqual(expectNames((i) => i.qty !== 3))
    expect(await names('qty[lt]=2')).toEqual(expectNames((i) => i.qty < 2))
    expect(await names('qty[gte]=5&owner=o1')).toEqual(expectNames((i) => i.qty >= 5 && i.owner === 'o1'))
    expect(await names('qty[in]=1,4')).toEqual(expectNames((i) => i.qty === 1 || i.qty === 4))
    expect(await names('name[contains]=M-01')).toEqual(expectNames((i) => i.name.toLowerCase().includes('m-01')))
    expect(await names('owner[isNull]=true')).toEqual(expectNames((i) => i.owner === null))
    expect(await names('owner[isNull]=false')).toEqual(expectNames((i) => i.owner !== null))
    expect(await names('name[contains]=%')).toEqual([])
  })

  test('count=true adds the total of matching rows', async () => {
    await seed(12)
    const page = await list('limit=5&count=true&qty[lt]=3')
    expect(page.total).toBe(await t.db.selectFrom('items').where('qty', '<', 3).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow().then((r) => Number(r.n)))
    expect(page.items).toHaveLength(5)
    expect((await list('limit=5')).total).toBeUndefined()
  })

  test.each([
    ['an unknown filter field', 'colour=red', 'querystring.colour'],
    ['a field that is not allow-listed for sorting', 'sort=owner', 'querystring.sort'],
    ['an unknown sort field', 'sort=-nope', 'querystring.sort'],
    ['an unknown operator', 'qty[like]=1', 'querystring.qty[like]'],
    ['an operator the field type does not take', 'qty[contains]=1', 'querystring.qty[contains]'],
    ['a value of the wrong type', 'qty=abc', 'querystring.qty'],
    ['a bad date', 'createdAt[gt]=yesterday', 'querystring.createdAt[gt]'],
    ['isNull that is not a boolean', 'owner[isNull]=maybe', 'querystring.owner[isNull]'],
    ['a repeated parameter', 'qty=1&qty=2', 'querystring.qty'],
    ['a limit above the maximum', 'limit=101', 'querystring.limit'],
    ['a zero limit', 'limit=0', 'querystring.limit'],
    ['a garbage cursor', 'cursor=@@@', 'cursor'],
    ['a cursor that is not base64 JSON', 'cursor=bm90LWpzb24', 'cursor'],
  ])('%s is a 400 that names the parameter', async (_label, query, path) => {
    const res = await app.inject(`/items?${query}`)
    expect(res.statusCode, res.body).toBe(400)
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path)
  })

  test('a cursor made for another sort is refused', async () => {
    await seed(5)
    const page = await list('limit=2&sort=name')
    const res = await app.inject(`/items?limit=2&sort=qty&cursor=${page.nextCursor}`)
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('BAD_REQUEST')
  })

  test('a forged cursor with a NULL id is a 400, not the first page', async () => {
    await seed(3)
    const forged = Buffer.from(JSON.stringify(['-createdAt,-id', [null, null]])).toString('base64url')
    const res = await app.inject(`/items?sort=-createdAt&cursor=${forged}`)
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('BAD_REQUEST')
  })

  test('a tampered cursor value is a 400, not a database error', async () => {
    const forged = Buffer.from(JSON.stringify(['createdAt,id', ['not a time', 'not a uuid']])).toString('base64url')
    const res = await app.inject(`/items?sort=createdAt&cursor=${forged}`)
    expect(res.statusCode).toBe(400)
  })

  test('a deep page costs what the first page costs: an index range scan, no OFFSET', async () => {
    await sql`insert into items (name, qty) select 'bulk-' || g, g % 5 from generate_series(1, 5000) g`.execute(t.db)
    await sql`analyze items`.execute(t.db)
    // EXPLAIN ANALYZE exactly the statement fastkit ran for a page, with its parameters.
    const explainPage = async (cursor: string | null) => {
      t.queries.length = 0
      const page = await list(`limit=50&sort=-createdAt${cursor ? `&cursor=${cursor}` : ''}`)
      const query = t.queries.find((q) => /^select/.test(q.sql))!
      const { rows } = await t.db.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain (analyze, costs off) ${query.sql}`, [...query.parameters]),
      )
      return { page, sql: query.sql, plan: rows.map((r) => r['QUERY PLAN']).join('\n') }
    }
    let cursor: string | null = null
    for (let i = 0; i < 90; i++) cursor = (await list(`limit=50&sort=-createdAt${cursor ? `&cursor=${cursor}` : ''}`)).nextCursor
    const first = await explainPage(null)
    const deep = await explainPage(cursor)
    expect(deep.page.items).toHaveLength(50)
    for (const { sql: text, plan } of [first, deep]) {
      expect(text).not.toMatch(/offset/i)
      expect(plan).toMatch(/Index Scan Backward using items_created_at_id/)
      expect(plan).not.toMatch(/Sort Key/)
    }
    // The deep page starts its scan at the cursor: it reads 51 index entries, like the first page.
    const rowsScanned = (plan: string) => Number(/Index Scan Backward.*rows=(\d+)/.exec(plan)?.[1])
    expect(rowsScanned(first.plan)).toBe(51)
    expect(rowsScanned(deep.plan)).toBe(51)
    expect(deep.plan).toMatch(/Index Cond/)
  })
})

describe.each(dialectsUnderTest())('BaseRouter route options on %s', (kind) => {
  const t = useTestDatabase(kind)
  let app: FastifyInstance
  const Summary = z.object({ id: z.uuid(), name: z.string() })

  /** The service each `GET /items/context` handler saw. */
  const servicesSeen: ItemService[] = []

  // Opt-in: no list and no replace are generated (the service has both); a list of its own instead.
  class TunedItemRouter extends BaseRouter<typeof ItemService> {
    constructor() {
      super(ItemService, '/items', { auth: true })
    }
    protected override routes(): void {
      this.crud({
        read: ItemRead,
        create: { body: ItemCreate, status: 202 },
        get: { auth: false },
        update: { body: ItemUpdate },
        delete: { preHandler: async () => { throw new ForbiddenError('Deleting is switched off') } },
      })
      this.route({
        method: 'GET',
        url: '/',
        auth: false,
        response: z.object({ items: z.array(Summary) }),
        handler: async ({ service }) => ({ items: (await service.list({ sort: ['name'] })).items }),
      })
      this.route({
        method: 'POST',
        url: '/:id/restock',
        params: z.object({ id: z.uuid() }),
        body: z.object({ by: z.number().int().positive() }),
        response: ItemRead.pick({ id: true, qty: true }),
        handler: async ({ service, params, body }) => {
          const item = await service.get(params.id)
          return service.update(params.id, { qty: item.qty + body.by })
        },
      })
      this.route({
        method: 'GET',
        url: '/context',
        auth: false,
        response: z.object({ sameService: z.boolean(), ownAccessors: z.array(z.string()) }),
        handler: (context) => {
          const { service } = context
          servicesSeen.push(service)
          const ownAccessors = Object.entries(Object.getOwnPropertyDescriptors(context))
            .filter(([, descriptor]) => descriptor.get || descriptor.set)
            .map(([name]) => name)
          return { sameService: context.service === service, ownAccessors }
        },
      })
    }
  }

  beforeAll(async () => {
    app = await buildTestApp(t.db, async (app) => {
      await app.register(new TunedItemRouter().plugin)
    })
  })
  afterAll(() => app.close())
  const as = { 'x-test-user': 'u1' }

  test('auth: true makes routes answer 401 with WWW-Authenticate, unless a route opts out', async () => {
    const res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'a', qty: 1 } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
    const created = await app.inject({ method: 'POST', url: '/items', headers: as, payload: { name: 'a', qty: 1 } })
    expect(created.statusCode).toBe(202)
    expect((await app.inject(`/items/${created.json().id}`)).statusCode).toBe(200)
  })

  test('a route not listed in crud() does not exist; a preHandler can refuse; a custom list answers its own way', async () => {
    const created = (await app.inject({ method: 'POST', url: '/items', headers: as, payload: { name: 'b', qty: 1 } })).json()
    const put = await app.inject({ method: 'PUT', url: `/items/${created.id}`, headers: as, payload: { name: 'c', qty: 1 } })
    expect(put.statusCode).toBe(405)
    expect(put.headers.allow).not.toContain('PUT')
    const del = await app.inject({ method: 'DELETE', url: `/items/${created.id}`, headers: as })
    expect(del.statusCode).toBe(403)
    expect(del.json()).toMatchObject({ code: 'FORBIDDEN', detail: 'Deleting is switched off' })
    const listed = await app.inject('/items')
    expect(listed.json()).toEqual({ items: [{ id: created.id, name: 'b' }] })
  })

  test('a custom route is validated and typed from its schemas, and its response filtered', async () => {
    const created = (await app.inject({ method: 'POST', url: '/items', headers: as, payload: { name: 'd', qty: 1 } })).json()
    const res = await app.inject({ method: 'POST', url: `/items/${created.id}/restock`, headers: as, payload: { by: 4 } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ id: created.id, qty: 5 })
    const bad = await app.inject({ method: 'POST', url: `/items/${created.id}/restock`, headers: as, payload: { by: 0 } })
    expect(bad.statusCode).toBe(400)
  })

  test("a handler's service is built once per request, and its context has no getter of its own", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await app.inject('/items/context')
      expect(res.statusCode, res.body).toBe(200)
      // An object literal with its own `get service()` would list it here. That cost every request a
      // hidden class in V8's old generation, which kept the whole request alive past minor GCs.
      expect(res.json()).toEqual({ sameService: true, ownAccessors: [] })
    }
    expect(servicesSeen).toHaveLength(2)
    expect(servicesSeen[0]).toBeInstanceOf(ItemService)
    expect(servicesSeen[1]).not.toBe(servicesSeen[0])
  })

  test('one router instance registers into two apps, and twice into one app under another prefix', async () => {
    const router = new TunedItemRouter()
    const first = await buildTestApp(t.db, async (app) => {
      await app.register(router.plugin)
      await app.register(router.plugin, { prefix: '/v2' })
    })
    const second = await buildTestApp(t.db, async (app) => {
      await app.register(router.plugin)
    })
    try {
      for (const [app, url] of [[first, '/items'], [first, '/v2/items'], [second, '/items']] as const) {
        const created = await app.inject({ method: 'POST', url, headers: as, payload: { name: `twice ${url} ${app === first}`, qty: 1 } })
        expect(created.statusCode, created.body).toBe(202)
        // Each registration has the custom routes exactly once, and the generated ones it keeps.
        const restocked = await app.inject({ method: 'POST', url: `${url}/${created.json().id}/restock`, headers: as, payload: { by: 1 } })
        expect(restocked.json()).toEqual({ id: created.json().id, qty: 2 })
        expect((await app.inject({ method: 'PUT', url: `${url}/${created.json().id}`, headers: as, payload: { name: 'x', qty: 1 } })).statusCode).toBe(405)
      }
    } finally {
      await Promise.all([first.close(), second.close()])
    }
  })
})
