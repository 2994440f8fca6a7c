import { describe, expectTypeOf, test } from 'vitest'
import type { Insertable, Selectable } from 'kysely'
import { provide, type Filter, type ListOptions, type Page, type SortKey } from '../src/index.js'
import type { TestDB } from './support/schema.js'
import { ItemRepository, ItemRouter, ItemService } from './support/item-resource.js'

// These checks run when `tsc` typechecks the test folder (pnpm typecheck, CI): every
// `@ts-expect-error` below must be an error, or the typecheck fails.
type Item = Selectable<TestDB['items']>

describe('types derived from the Kysely DB interface', () => {
  test('repository rows, inserts and pages are typed from DB', () => {
    expectTypeOf<Awaited<ReturnType<ItemRepository['findById']>>>().toEqualTypeOf<Item | undefined>()
    expectTypeOf<Parameters<ItemRepository['create']>[0]>().toEqualTypeOf<Insertable<TestDB['items']>>()
    expectTypeOf<Awaited<ReturnType<ItemService['list']>>>().toEqualTypeOf<Page<Item>>()
  })

  test('a wrong field name in a create body does not compile', () => {
    const create = (repo: ItemRepository) => {
      void repo.create({ name: 'ok', qty: 1 })
      // @ts-expect-error `nmae` is not a column of items
      void repo.create({ nmae: 'typo' })
    }
    expectTypeOf(create).toBeFunction()
  })

  test('a wrong field name in a filter does not compile, and values keep their column types', () => {
    const ok: Filter<Item> = { qty: { gte: 2 }, name: { contains: 'x' }, owner: { isNull: true } }
    // @ts-expect-error `colour` is not a field of items
    const badField: Filter<Item> = { colour: 'red' }
    // @ts-expect-error qty is a number
    const badValue: Filter<Item> = { qty: { gte: 'two' } }
    expectTypeOf(ok).not.toBeAny()
    void badField
    void badValue
  })

  test('a wrong field name in a sort does not compile', () => {
    const ok: SortKey<Item>[] = ['name', '-createdAt']
    // @ts-expect-error `nope` is not a field of items
    const bad: SortKey<Item>[] = ['-nope']
    expectTypeOf(ok).toEqualTypeOf<SortKey<Item>[]>()
    void bad
  })

  test('router list options accept only read-schema fields', () => {
    const ok: ListOptions<'name' | 'qty'> = { filter: ['name'], sort: ['qty'] }
    // @ts-expect-error `colour` is not a read field
    const bad: ListOptions<'name' | 'qty'> = { filter: ['colour'] }
    void ok
    void bad
    expectTypeOf(ItemRouter).toBeConstructibleWith({ auth: true })
  })

  test('provide() checks static inject against the constructor', () => {
    class Needs {
      static readonly inject = [ItemRepository] as const
      constructor(readonly repo: ItemRepository) {}
    }
    class Mismatch {
      static readonly inject = [ItemService] as const
      constructor(readonly repo: ItemRepository) {}
    }
    const check = (c: Parameters<typeof provide>[0]) => {
      provide(c, Needs)
      // @ts-expect-error inject lists ItemService where the constructor takes an ItemRepository
      provide(c, Mismatch)
    }
    expectTypeOf(check).toBeFunction()
  })
})
