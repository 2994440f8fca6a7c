// Compile-time checks of the CRUD spine (SPINE.md): run by vitest's typecheck. Every `@ts-expect-error`
// must be an error and every other line must compile, or the run fails.
import { describe, expectTypeOf, test } from 'vitest'
import { z } from 'zod'
import {
  BaseRepository,
  BaseRouter,
  BaseService,
  CurrentUser,
  pageQuerySchema,
  pageSchema,
  type AuthUser,
  type KeyColumns,
  type Page,
  type RowOf,
} from '../src/index.js'
import { ItemCreate, ItemRead, ItemRepository, ItemService, ItemUpdate } from './support/item-resource.js'
import type { TestDB } from './support/schema.js'

type Item = RowOf<TestDB, 'items'>

// ---------------------------------------------------------------------------------------------------
// Repository: keys declared once, typed against the row.
describe('repository keys', () => {
  test('not-null columns may be keys, with a cursor type', () => {
    class Ok extends BaseRepository<TestDB, 'items'> {
      readonly table = 'items'
      protected override readonly keys = { id: 'uuid', createdAt: 'timestamp', qty: 'integer' } satisfies KeyColumns<Item>
    }
    expectTypeOf<Ok>().toExtend<BaseRepository<TestDB, 'items'>>()
  })

  test('a nullable column listed as a key is an error', () => {
    // @ts-expect-error owner is nullable: it cannot be declared never NULL
    const nullable = { owner: 'text' } satisfies KeyColumns<Item>
    // @ts-expect-error not a cursor type
    const badType = { qty: 'float' } satisfies KeyColumns<Item>
    // @ts-expect-error not a column
    const unknown = { colour: 'text' } satisfies KeyColumns<Item>
    void [nullable, badType, unknown]
  })

  test('anchor paging: a page or undefined; a plain list: always a page', () => {
    const repo = {} as ItemRepository
    expectTypeOf(repo.findMany({ sort: ['createdAt'], after: { id: 'x' } })).resolves.toEqualTypeOf<Page<Item> | undefined>()
    expectTypeOf(repo.findMany({ sort: ['-createdAt'], before: { id: 'x' }, limit: 5 })).resolves.toEqualTypeOf<Page<Item> | undefined>()
    expectTypeOf(repo.findMany({ sort: ['createdAt'] })).resolves.toEqualTypeOf<Page<Item>>()
    // @ts-expect-error the anchor's id is the row's id type
    void repo.findMany({ after: { id: 42 } })
    // @ts-expect-error one direction at a time
    void repo.findMany({ after: { id: 'a' }, before: { id: 'b' } })
  })
})

// ---------------------------------------------------------------------------------------------------
// Service: opt-in operations, typed hooks, the required-column check.
describe('service operations', () => {
  test('a service has exactly the operations it declares', () => {
    class OnlyGet extends BaseService<ItemRepository> {
      static readonly inject = [ItemRepository] as const
      readonly get = this.crud.get()
    }
    expectTypeOf<OnlyGet['get']>().toEqualTypeOf<(id: string) => Promise<Item>>()
    expectTypeOf<OnlyGet>().not.toHaveProperty('delete')
    expectTypeOf<OnlyGet>().not.toHaveProperty('update')
    expectTypeOf<OnlyGet>().not.toHaveProperty('list')
    expectTypeOf<OnlyGet>().not.toHaveProperty('create')
    // The repository stays protected.
    expectTypeOf<OnlyGet>().not.toHaveProperty('repository')
  })

  test('operations are plain typed functions', () => {
    expectTypeOf<ItemService['list']>().returns.resolves.toEqualTypeOf<Page<Item>>()
    expectTypeOf<ItemService['update']>().parameters.toEqualTypeOf<[id: string, patch: import('kysely').Updateable<TestDB['items']>]>()
    expectTypeOf<ItemService['delete']>().toEqualTypeOf<(id: string) => Promise<void>>()
  })

  test('context from before reaches values and after, typed', () => {
    class Hooked extends BaseService<ItemRepository> {
      static readonly inject = [ItemRepository, CurrentUser] as const
      constructor(items: ItemRepository, private readonly user: AuthUser) {
        super(items)
      }
      readonly create = this.crud.create({
        before: async (input: { title: string }) => ({ owner: this.user.id, length: input.title.length }),
        values: (input, context) => {
          expectTypeOf(context).toEqualTypeOf<{ owner: string; length: number }>()
          return { name: input.title, owner: context.owner, qty: context.length }
        },
        after: (row, context) => {
          expectTypeOf(row).toEqualTypeOf<Item>()
          expectTypeOf(context.length).toBeNumber()
        },
      })
      readonly update = this.crud.update({
        before: (existing, patch: { title: string }) => ({ was: existing.name, title: patch.title }),
        values: (_existing, patch, { was }) => ({ name: `${was}/${patch.title}` }),
        after: (row, context, previous) => {
          expectTypeOf(context).toEqualTypeOf<{ was: string; title: string }>()
          expectTypeOf(previous).toEqualTypeOf<Item>()
          void row
        },
      })
      readonly delete = this.crud.delete({
        before: async (item) => [item.id],
        after: (_item, ids) => expectTypeOf(ids).toEqualTypeOf<string[]>(),
      })
    }
    expectTypeOf<Hooked['create']>().toEqualTypeOf<(input: { title: string }) => Promise<Item>>()
    expectTypeOf<Hooked['update']>().toEqualTypeOf<(id: string, patch: { title: string }) => Promise<Item>>()
  })

  test('values may be left out only when the input fits the table’s insert/update type', () => {
    class Fits extends BaseService<ItemRepository> {
      static readonly inject = [ItemRepository] as const
      readonly create = this.crud.create({ before: (input: { name: string; qty?: number }) => input.name.length })
      readonly update = this.crud.update({ before: (_existing, patch: { qty: number }) => patch.qty })
    }
    expectTypeOf<Fits['create']>().parameter(0).toEqualTypeOf<{ name: string; qty?: number }>()
  })

  test('a required column that neither the input nor values supplies is an error', () => {
    class Missing extends BaseService<ItemRepository> {
      static readonly inject = [ItemRepository] as const
      // @ts-expect-error items.name is NOT NULL without a default, and { title } does not supply it
      readonly create = this.crud.create({ before: (input: { title: string }) => input.title })
      // @ts-expect-error values leaves out items.name
      readonly create2 = this.crud.create({ values: (input: { title: string }) => ({ qty: input.title.length }) })
      // @ts-expect-error an input type without `name` needs a values hook
      readonly create3 = this.crud.create<{ title: string }>()
      // @ts-expect-error a patch field that is not a column needs a values hook
      readonly update = this.crud.update({ before: (_existing, patch: { title: string }) => patch })
    }
    void Missing
  })

  test('a context of the wrong shape is an error where it is used', () => {
    class Wrong extends BaseService<ItemRepository> {
      static readonly inject = [ItemRepository] as const
      readonly create = this.crud.create({
        before: () => ({ n: 1 }),
        // @ts-expect-error the context's n is a number
        values: (input: { title: string }, context) => ({ name: input.title, owner: context.n }),
      })
    }
    void Wrong
  })
})

// ---------------------------------------------------------------------------------------------------
// Router: the service class checked at super(), routes checked against the service's operations.
class NoInject extends BaseService<ItemRepository> {
  constructor(items: ItemRepository) {
    super(items)
  }
  readonly get = this.crud.get()
}
class Misordered extends BaseService<ItemRepository> {
  static readonly inject = [CurrentUser, ItemRepository] as const
  constructor(items: ItemRepository, readonly user: AuthUser) {
    super(items)
  }
}
class WrongType extends BaseService<ItemRepository> {
  static readonly inject = [ItemService] as const
}
class Readable extends BaseService<ItemRepository> {
  static readonly inject = [ItemRepository] as const
  readonly list = this.crud.list()
  readonly get = this.crud.get()
  readonly create = this.crud.create({ values: (input: { title: string }) => ({ name: input.title }) })
}

describe('router checks', () => {
  test('super() refuses a service whose static inject is missing, misordered or of the wrong types', () => {
    class A extends BaseRouter<typeof NoInject> {
      constructor() {
        // @ts-expect-error NoInject takes an ItemRepository but has no static inject
        super(NoInject, '/a')
      }
    }
    class B extends BaseRouter<typeof Misordered> {
      constructor() {
        // @ts-expect-error the inject list is [CurrentUser, ItemRepository], the constructor (ItemRepository, AuthUser)
        super(Misordered, '/b')
      }
    }
    class C extends BaseRouter<typeof WrongType> {
      constructor() {
        // @ts-expect-error inject lists ItemService where the constructor takes an ItemRepository
        super(WrongType, '/c')
      }
    }
    class Ok extends BaseRouter<typeof ItemService> {
      constructor() {
        super(ItemService, '/ok')
      }
    }
    void [A, B, C, Ok]
  })

  test('crud() accepts routes that fit the service; schemas are inferred, not repeated', () => {
    class Fine extends BaseRouter<typeof ItemService> {
      constructor() {
        super(ItemService, '/fine')
      }
      protected override routes(): void {
        this.crud({
          read: ItemRead,
          list: { sort: ['createdAt', 'name'], defaultSort: ['-createdAt'], filter: ['owner'] },
          get: true,
          create: { body: ItemCreate, summary: 'Add an item' },
          update: { body: ItemUpdate },
          replace: { body: ItemCreate },
          delete: { status: 204 },
        })
        // A subset, and a read schema with fewer fields than the row: both fine.
        this.crud({ read: ItemRead.pick({ id: true, name: true }), get: true })
      }
    }
    class CustomBody extends BaseRouter<typeof Readable> {
      constructor() {
        super(Readable, '/readable')
      }
      protected override routes(): void {
        this.crud({ read: ItemRead, create: { body: z.object({ title: z.string().min(1) }) }, list: true })
      }
    }
    void [Fine, CustomBody]
  })

  test('a route whose service operation does not exist is an error', () => {
    class R extends BaseRouter<typeof Readable> {
      constructor() {
        super(Readable, '/r')
      }
      protected override routes(): void {
        // @ts-expect-error Readable declares no delete
        this.crud({ read: ItemRead, delete: true })
        // @ts-expect-error Readable declares no update
        this.crud({ read: ItemRead, update: { body: ItemUpdate } })
        // @ts-expect-error Readable declares no replace
        this.crud({ read: ItemRead, replace: { body: ItemCreate } })
      }
    }
    class NoList extends BaseRouter<typeof NoInject> {
      constructor() {
        // @ts-expect-error (NoInject has no static inject)
        super(NoInject, '/n')
      }
      protected override routes(): void {
        // @ts-expect-error NoInject declares no list
        this.crud({ read: ItemRead, list: true })
      }
    }
    void [R, NoList]
  })

  test('a body schema that does not fit the operation’s input is an error', () => {
    class R extends BaseRouter<typeof Readable> {
      constructor() {
        super(Readable, '/r')
      }
      protected override routes(): void {
        // @ts-expect-error Readable.create takes { title }, not { name, qty, owner }
        this.crud({ read: ItemRead, create: { body: ItemCreate } })
        // @ts-expect-error title must be a string
        this.crud({ read: ItemRead, create: { body: z.object({ title: z.number() }) } })
      }
    }
    class S extends BaseRouter<typeof ItemService> {
      constructor() {
        super(ItemService, '/s')
      }
      protected override routes(): void {
        // @ts-expect-error the create body lacks the required name
        this.crud({ read: ItemRead, create: { body: z.object({ qty: z.number() }) } })
        // @ts-expect-error a create route needs a body
        this.crud({ read: ItemRead, create: true })
      }
    }
    void [R, S]
  })

  test('rows that do not fit the read schema are an error', () => {
    const Wider = ItemRead.extend({ colour: z.string() })
    class R extends BaseRouter<typeof ItemService> {
      constructor() {
        super(ItemService, '/r')
      }
      protected override routes(): void {
        // @ts-expect-error items have no colour
        this.crud({ read: Wider, get: true })
        // @ts-expect-error qty is a number, the read schema says string
        this.crud({ read: ItemRead.extend({ qty: z.string() }), list: true })
        // @ts-expect-error list options name read fields only
        this.crud({ read: ItemRead, list: { sort: ['colour'] } })
      }
    }
    void R
  })

  test('custom routes keep their typing; page helpers infer from values', () => {
    const Query = pageQuerySchema({ maxLimit: 20 }).extend({ owner: z.string() })
    expectTypeOf<z.output<typeof Query>>().toEqualTypeOf<{ limit: number; cursor?: string | undefined; owner: string }>()
    expectTypeOf<z.output<ReturnType<typeof pageSchema<typeof ItemRead>>>>().toEqualTypeOf<{
      items: z.output<typeof ItemRead>[]
      nextCursor: string | null
      total?: number | undefined
    }>()
    class R extends BaseRouter<typeof ItemService> {
      constructor() {
        super(ItemService, '/r')
      }
      protected override routes(): void {
        this.route({
          method: 'GET',
          url: '/by-owner',
          query: Query,
          response: pageSchema(ItemRead),
          handler: ({ service, query }) => {
            expectTypeOf(query.limit).toBeNumber()
            return service.list({ where: { owner: query.owner }, limit: query.limit, cursor: query.cursor ?? null })
          },
        })
        this.route({
          method: 'GET',
          url: '/wrong',
          response: ItemRead,
          // @ts-expect-error the handler must return what the response schema accepts
          handler: () => ({ id: 'x' }),
        })
      }
    }
    void R
  })
})
