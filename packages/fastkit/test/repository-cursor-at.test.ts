// BaseRepository.cursorAt: keyset paging that starts after a given row ("everything since X").
import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { BadRequestError, UnitOfWork, type Page, type RowOf } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRepository } from './support/item-resource.js'
import type { TestDB } from './support/schema.js'

type Item = RowOf<TestDB, 'items'>

describe.each(dialectsUnderTest())('BaseRepository.cursorAt on %s', (kind) => {
  const t = useTestDatabase(kind)
  const repository = () => new ItemRepository(new UnitOfWork(t.db))
  const sort = ['createdAt'] as const

  /** 30 items, three to a timestamp (microseconds apart groups), so the id breaks ties. */
  const seed = async () => {
    await sql`
      insert into items (name, owner, "createdAt")
      select 'item-' || g, case when g % 2 = 0 then 'even' else 'odd' end,
             timestamptz '2026-01-01 00:00:00.000001+00' + make_interval(secs => (g / 3) * 0.000001)
      from generate_series(1, 30) g`.execute(t.db)
    return t.db.selectFrom('items').selectAll().orderBy('createdAt').orderBy('id').execute()
  }

  const follow = async (start: string, limit: number, where: { owner?: string } = {}) => {
    const items: Item[] = []
    const pages: number[] = []
    let cursor: string | null = start
    while (cursor) {
      const page: Page<Item> = await repository().findMany({ where, sort, limit, cursor })
      items.push(...page.items)
      pages.push(page.items.length)
      cursor = page.nextCursor
    }
    return { items, pages }
  }

  test('following the pages from a row yields every later row once, in order, across ties and microseconds', async () => {
    const all = await seed()
    // An anchor in the middle of a group of three equal timestamps: its tie-mates with a greater id follow it.
    const anchorIndex = 10
    const start = await repository().cursorAt(all[anchorIndex]!.id, { sort })
    expect(start).toEqual(expect.any(String))
    const { items, pages } = await follow(start!, 6)
    expect(items.map((i) => i.id)).toEqual(all.slice(anchorIndex + 1).map((i) => i.id))
    expect(pages).toEqual([6, 6, 6, 1])
  })

  test('rows inserted while paging that sort after the anchor are picked up; the where filter and the scope apply', async () => {
    const all = await seed()
    const evens = all.filter((i) => i.owner === 'even')
    const start = await repository().cursorAt(evens[2]!.id, { where: { owner: 'even' }, sort })
    const first = await repository().findMany({ where: { owner: 'even' }, sort, limit: 5, cursor: start! })
    await t.db.insertInto('items').values({ name: 'late', owner: 'even', createdAt: new Date('2027-01-01T00:00:00Z') }).execute()
    const rest = await follow(first.nextCursor!, 5, { owner: 'even' })
    expect([...first.items, ...rest.items].map((i) => i.name)).toEqual([...evens.slice(3).map((i) => i.name), 'late'])

    // A row the filter or the scope hides gives no cursor.
    expect(await repository().cursorAt(all.find((i) => i.owner === 'odd')!.id, { where: { owner: 'even' }, sort })).toBeUndefined()
    expect(await repository().cursorAt(evens[0]!.id, { sort }, { scope: (eb) => eb('items.owner', '=', 'odd') })).toBeUndefined()
    expect(await repository().cursorAt('00000000-0000-4000-8000-000000000000', { sort })).toBeUndefined()
  })

  test('the cursor belongs to its sort: another sort refuses it with a 400', async () => {
    const all = await seed()
    const start = await repository().cursorAt(all[0]!.id, { sort })
    await expect(repository().findMany({ sort: ['-createdAt'], cursor: start! })).rejects.toBeInstanceOf(BadRequestError)
  })
})
