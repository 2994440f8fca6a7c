// BaseRepository.findMany from an anchor row, both ways (`after` / `before`), and the LIKE helpers.
import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { BadRequestError, escapeLike, likeContains, likePrefix, UnitOfWork, type AnchoredListQuery, type Page, type RowOf } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRepository } from './support/item-resource.js'
import type { TestDB } from './support/schema.js'

type Item = RowOf<TestDB, 'items'>
const MISSING = '00000000-0000-4000-8000-000000000000'

describe.each(dialectsUnderTest())('BaseRepository anchor paging on %s', (kind) => {
  const t = useTestDatabase(kind)
  const repository = () => new ItemRepository(new UnitOfWork(t.db))

  /** 30 items, three to a timestamp (microseconds apart), so the id breaks ties; oldest first. */
  const seed = async () => {
    await sql`
      insert into items (name, owner, "createdAt")
      select 'item-' || g, case when g % 2 = 0 then 'even' else 'odd' end,
             timestamptz '2026-01-01 00:00:00.000001+00' + make_interval(secs => (g / 3) * 0.000001)
      from generate_series(1, 30) g`.execute(t.db)
    return t.db.selectFrom('items').selectAll().orderBy('createdAt').orderBy('id').execute()
  }

  /** Every page from an anchor, following nextCursor with the same query. */
  const walk = async (query: AnchoredListQuery<Item>) => {
    const pages: Item[][] = []
    let cursor: string | null = query.cursor ?? null
    do {
      const page: Page<Item> | undefined = await repository().findMany({ ...query, cursor })
      if (!page) throw new Error('the anchor is gone')
      pages.push(page.items)
      cursor = page.nextCursor
    } while (cursor)
    return pages
  }

  test('after: the rows that follow the anchor, each once, in order, across ties', async () => {
    const all = await seed()
    const pages = await walk({ sort: ['createdAt'], after: { id: all[10]!.id }, limit: 6 })
    expect(pages.map((p) => p.length)).toEqual([6, 6, 6, 1])
    expect(pages.flat().map((i) => i.id)).toEqual(all.slice(11).map((i) => i.id))
  })

  test('before: the rows that precede the anchor, each page in the sort order, pages walking back', async () => {
    const all = await seed()
    const pages = await walk({ sort: ['createdAt'], before: { id: all[20]!.id }, limit: 6 })
    expect(pages.map((p) => p.map((i) => i.id))).toEqual([
      all.slice(14, 20).map((i) => i.id),
      all.slice(8, 14).map((i) => i.id),
      all.slice(2, 8).map((i) => i.id),
      all.slice(0, 2).map((i) => i.id),
    ])
  })

  test('before on a descending sort: the newer rows, newest first', async () => {
    const all = await seed()
    const newestFirst = [...all].reverse()
    const page = await repository().findMany({ sort: ['-createdAt'], before: { id: newestFirst[10]!.id }, limit: 4 })
    expect(page?.items.map((i) => i.id)).toEqual(newestFirst.slice(6, 10).map((i) => i.id))
  })

  test('rows inserted while paging are picked up on the side being walked, never repeated', async () => {
    const all = await seed()
    const forward = await repository().findMany({ sort: ['createdAt'], after: { id: all[25]!.id }, limit: 2 })
    const backward = await repository().findMany({ sort: ['createdAt'], before: { id: all[4]!.id }, limit: 2 })
    await t.db
      .insertInto('items')
      .values([
        { name: 'newest', createdAt: new Date('2027-01-01T00:00:00Z') },
        { name: 'oldest', createdAt: new Date('2025-01-01T00:00:00Z') },
      ])
      .execute()
    const forwardRest = await walk({ sort: ['createdAt'], after: { id: all[25]!.id }, cursor: forward!.nextCursor, limit: 2 })
    expect([...forward!.items, ...forwardRest.flat()].map((i) => i.name)).toEqual([...all.slice(26).map((i) => i.name), 'newest'])
    const backwardRest = await walk({ sort: ['createdAt'], before: { id: all[4]!.id }, cursor: backward!.nextCursor, limit: 2 })
    expect([...backward!.items, ...backwardRest.flat()].map((i) => i.name).sort()).toEqual(['oldest', ...all.slice(0, 4).map((i) => i.name)].sort())
    expect(backwardRest.flat().at(-1)?.name).toBe('oldest')
  })

  test('an unknown or deleted anchor gives undefined; a cursor keeps paging after the anchor is deleted', async () => {
    const all = await seed()
    expect(await repository().findMany({ sort: ['createdAt'], after: { id: MISSING } })).toBeUndefined()
    expect(await repository().findMany({ sort: ['createdAt'], before: { id: MISSING } })).toBeUndefined()
    const first = await repository().findMany({ sort: ['createdAt'], after: { id: all[20]!.id }, limit: 3 })
    await t.db.deleteFrom('items').where('id', '=', all[20]!.id).execute()
    expect(await repository().findMany({ sort: ['createdAt'], after: { id: all[20]!.id } })).toBeUndefined()
    const rest = await walk({ sort: ['createdAt'], after: { id: all[20]!.id }, cursor: first!.nextCursor, limit: 3 })
    expect([...first!.items, ...rest.flat()].map((i) => i.id)).toEqual(all.slice(21).map((i) => i.id))
  })

  test('an anchor that where or the scope hides gives undefined; where applies to the page', async () => {
    const all = await seed()
    const odd = all.find((i) => i.owner === 'odd')!
    expect(await repository().findMany({ where: { owner: 'even' }, sort: ['createdAt'], after: { id: odd.id } })).toBeUndefined()
    expect(await repository().findMany({ sort: ['createdAt'], after: { id: odd.id } }, { scope: (eb) => eb('items.owner', '=', 'even') })).toBeUndefined()
    const evens = all.filter((i) => i.owner === 'even')
    const page = await repository().findMany({ where: { owner: 'even' }, sort: ['createdAt'], before: { id: evens[5]!.id }, limit: 100 })
    expect(page?.items.map((i) => i.id)).toEqual(evens.slice(0, 5).map((i) => i.id))
  })

  test('a cursor of one direction is refused by the other (400)', async () => {
    const all = await seed()
    const back = await repository().findMany({ sort: ['createdAt'], before: { id: all[20]!.id }, limit: 2 })
    await expect(repository().findMany({ sort: ['createdAt'], cursor: back!.nextCursor })).rejects.toBeInstanceOf(BadRequestError)
  })
})

describe.each(dialectsUnderTest())('LIKE helpers on %s', (kind) => {
  const t = useTestDatabase(kind)
  const repository = () => new ItemRepository(new UnitOfWork(t.db))

  test('escapeLike escapes % _ and \\ (and nothing else)', () => {
    expect(escapeLike('50%_off\\now')).toBe('50\\%\\_off\\\\now')
    expect(escapeLike('plain text')).toBe('plain text')
    expect(likePrefix('a%')).toBe('a\\%%')
    expect(likeContains('_')).toBe('%\\_%')
  })

  test('patterns built with them match the text literally', async () => {
    await t.db
      .insertInto('items')
      .values(['100%', '1000', 'a_b', 'axb', 'back\\slash', 'backslash', 'Ann', 'Joan'].map((name) => ({ name })))
      .execute()
    const names = async (ilike: string) =>
      (await repository().findMany({ where: { name: { ilike } }, sort: ['name'], limit: 100 })).items.map((i) => i.name)
    expect(await names(likePrefix('100%'))).toEqual(['100%'])
    expect(await names(likeContains('_'))).toEqual(['a_b'])
    expect(await names(likeContains('\\'))).toEqual(['back\\slash'])
    expect(await names(likePrefix('an'))).toEqual(['Ann'])
    expect((await names(likeContains('an'))).sort()).toEqual(['Ann', 'Joan'])
    // The same text unescaped is a wildcard: what the helpers exist to prevent.
    expect((await names('%_%')).length).toBe(8)
  })
})
