// BaseService operations declared with this.crud: the scope on every operation, hooks that hand a
// context from before to values and after, refusals that write nothing. Over HTTP, through BaseRouter.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BaseRepository, BaseRouter, BaseService, ConflictError, ForbiddenError, NotFoundError, type Scope } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { buildTestApp } from './support/app.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRead, ItemRepository } from './support/item-resource.js'
import type { TestDB } from './support/schema.js'

/** What the hooks saw, in order: the test reads it back. */
const seen: string[] = []

const Label = z.object({ label: z.string().min(1), notes: z.array(z.string()).default([]) })
const Rename = z.object({ label: z.string().min(1) })

class NoteRepository extends BaseRepository<TestDB, 'notes'> {
  readonly table = 'notes'
}

class NotedItemService extends BaseService<ItemRepository> {
  static readonly inject = [ItemRepository, NoteRepository] as const
  // A dependency of the subclass: the hooks use it at call time (field initialisers run before this
  // parameter property would be usable at build time).
  constructor(items: ItemRepository, private readonly notes: NoteRepository) {
    super(items)
  }

  // Rows owned by "hidden" do not exist for this service.
  protected override scope(): Scope<TestDB, 'items'> {
    return (eb) => eb.or([eb('items.owner', 'is', null), eb('items.owner', '<>', 'hidden')])
  }
  protected override notFound(): NotFoundError {
    return new NotFoundError('Item not found')
  }

  readonly list = this.crud.list()
  readonly get = this.crud.get()
  readonly create = this.crud.create({
    before: async (input: z.output<typeof Label>) => {
      if (input.label === 'forbidden') throw new ForbiddenError('No such label')
      return { qty: input.notes.length }
    },
    values: (input, { qty }) => ({ name: input.label, qty }),
    after: async (item, { qty }) => {
      seen.push(`created ${item.name} with qty ${qty}`)
      // In the request's transaction: a failure here undoes the insert.
      if (item.name === 'undo') throw new ConflictError('undone after the insert')
      await this.notes.createMany(Array.from({ length: qty }, (_, i) => ({ itemId: item.id, body: `note ${i + 1}` })))
    },
  })
  readonly update = this.crud.update({
    before: (existing, patch: z.output<typeof Rename>) => ({ from: existing.name, to: patch.label }),
    values: (_existing, patch) => ({ name: patch.label }),
    after: (item, { from, to }, previous) => {
      seen.push(`renamed ${from}→${to} (was ${previous.name}, now ${item.name})`)
    },
  })
  readonly delete = this.crud.delete({
    before: (item) => {
      if (item.owner === 'locked') throw new ForbiddenError('This item is locked')
      return { name: item.name }
    },
    after: (item, { name }) => {
      seen.push(`deleted ${name} (${item.id === undefined ? 'no id' : 'with its row'})`)
    },
  })
}

class NotedItemRouter extends BaseRouter<typeof NotedItemService> {
  constructor() {
    super(NotedItemService, '/noted')
  }
  protected override routes(): void {
    this.crud({ read: ItemRead, list: true, get: true, create: { body: Label }, update: { body: Rename }, delete: true })
  }
}

describe.each(dialectsUnderTest())('BaseService operations and hooks on %s', (kind) => {
  const t = useTestDatabase(kind)
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestApp(t.db, async (app) => {
      await app.register(new NotedItemRouter().plugin)
    })
  })
  afterAll(() => app.close())
  const insert = (name: string, owner: string | null) =>
    t.db.insertInto('items').values({ name, owner }).returningAll().executeTakeFirstOrThrow()

  test('create: before → values → after share one typed context, in the same transaction', async () => {
    seen.length = 0
    const res = await app.inject({ method: 'POST', url: '/noted', payload: { label: 'pen', notes: ['a', 'b'] } })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json()).toMatchObject({ name: 'pen', qty: 2, owner: null })
    expect(seen).toEqual(['created pen with qty 2'])
    const notes = await t.db.selectFrom('notes').select('body').where('itemId', '=', res.json().id).orderBy('body').execute()
    expect(notes.map((n) => n.body)).toEqual(['note 1', 'note 2'])
  })

  test('a refusal in before writes nothing; a failure in after undoes the insert', async () => {
    const refused = await app.inject({ method: 'POST', url: '/noted', payload: { label: 'forbidden' } })
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN', detail: 'No such label' })
    const undone = await app.inject({ method: 'POST', url: '/noted', payload: { label: 'undo', notes: ['x'] } })
    expect(undone.statusCode).toBe(409)
    expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
    expect(await t.db.selectFrom('notes').selectAll().execute()).toEqual([])
  })

  test('update: the context and the previous row reach after', async () => {
    seen.length = 0
    const item = await insert('old', null)
    const res = await app.inject({ method: 'PATCH', url: `/noted/${item.id}`, payload: { label: 'new' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ id: item.id, name: 'new' })
    expect(seen).toEqual(['renamed old→new (was old, now new)'])
  })

  test('delete: before can refuse (403, the row stays); its context reaches after', async () => {
    seen.length = 0
    const locked = await insert('safe', 'locked')
    const refused = await app.inject({ method: 'DELETE', url: `/noted/${locked.id}` })
    expect(refused.statusCode).toBe(403)
    expect(await t.db.selectFrom('items').select('id').where('id', '=', locked.id).executeTakeFirst()).toEqual({ id: locked.id })
    const item = await insert('gone', 'ann')
    expect((await app.inject({ method: 'DELETE', url: `/noted/${item.id}` })).statusCode).toBe(204)
    expect(seen).toEqual(['deleted gone (with its row)'])
  })

  test('the scope applies to every operation: a hidden row is a 404 with the service’s message, and never listed', async () => {
    const hidden = await insert('secret', 'hidden')
    const shown = await insert('public', null)
    for (const [method, payload] of [['GET', undefined], ['PATCH', { label: 'x' }], ['DELETE', undefined]] as const) {
      const res = await app.inject({ method, url: `/noted/${hidden.id}`, ...(payload ? { payload } : {}) })
      expect(res.statusCode, `${method} ${res.body}`).toBe(404)
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND', detail: 'Item not found' })
    }
    expect((await app.inject('/noted')).json().items.map((i: { id: string }) => i.id)).toEqual([shown.id])
    expect(await t.db.selectFrom('items').select('name').where('id', '=', hidden.id).executeTakeFirst()).toEqual({ name: 'secret' })
  })
})
