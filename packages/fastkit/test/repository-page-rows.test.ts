// BaseRepository.findMany hands back plain rows: the cursor's own columns are gone, every item has the
// table's columns as own properties, in one shape, even a column named like an Object.prototype key.
import { sql, type Generated, type Kysely } from 'kysely'
import { describe, expect, test } from 'vitest'
import { BaseRepository, UnitOfWork } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRepository } from './support/item-resource.js'

describe.each(dialectsUnderTest())('BaseRepository.findMany rows on %s', (kind) => {
  const t = useTestDatabase(kind)

  test("a page's items are the rows' columns only, in the table's order, with a cursor when more follow", async () => {
    const stored = await t.db
      .insertInto('items')
      .values([1, 2, 3].map((qty) => ({ name: `n${qty}`, qty })))
      .returningAll()
      .execute()
    const items = new ItemRepository(new UnitOfWork(t.db))
    const page = await items.findMany({ sort: ['qty'], limit: 2 })
    expect(page.items).toEqual(stored.slice(0, 2))
    for (const item of page.items) expect(Object.keys(item)).toEqual(Object.keys(stored[0]!))
    expect(page.nextCursor).toEqual(expect.any(String))
    const rest = await items.findMany({ sort: ['qty'], limit: 2, cursor: page.nextCursor! })
    expect(rest.items).toEqual(stored.slice(2))
    expect(rest.nextCursor).toBeNull()
  })

  test('a column named __proto__ stays an own column of each item; the prototype is untouched', async () => {
    await sql`create table if not exists odd_rows (id uuid primary key default gen_random_uuid(), "__proto__" text not null)`.execute(t.db)
    interface OddDB {
      odd_rows: { id: Generated<string>; __proto__: string }
    }
    class OddRepository extends BaseRepository<OddDB, 'odd_rows'> {
      readonly table = 'odd_rows'
    }
    const db = t.db as unknown as Kysely<OddDB>
    try {
      await sql`insert into odd_rows ("__proto__") values ('not a prototype')`.execute(db)
      const page = await new OddRepository(new UnitOfWork<OddDB>(db)).findMany({ limit: 10 })
      const [row] = page.items
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
      expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('not a prototype')
      expect(Object.keys(row!).sort()).toEqual(['__proto__', 'id'])
    } finally {
      await sql`drop table odd_rows`.execute(t.db)
    }
  })
})
