// BaseRepository.findMany hands back plain rows: the cursor's own columns are gone, every item has the
// table's columns as own properties, in one shape, even a column named like an Object.prototype key.
// Its cursors hold PostgreSQL's exact text of each sort value, whether read from the row (a uuid, an
// integer) or as `::text` in SQL (a timestamp), even for an int8 the driver parsed into a number.
import { sql, type Generated, type Kysely } from 'kysely'
import { describe, expect, test } from 'vitest'
import { BaseRepository, UnitOfWork, type KeyColumns, type RowOf } from '../src/index.js'
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

  test("a cursor holds PostgreSQL's text of the last item's sort values: uuid, integer and timestamp (microseconds kept)", async () => {
    await sql`insert into items (name, qty, "createdAt") values ('a', 7, '2026-01-02 03:04:05.123456+00'), ('b', 7, '2026-01-02 03:04:05.123457+00'), ('c', 8, now())`.execute(t.db)
    const items = new ItemRepository(new UnitOfWork(t.db))
    const page = await items.findMany({ sort: ['qty', 'createdAt'], limit: 1 })
    const { rows } = await sql<{ qty: string; createdAt: string; id: string }>`select qty::text, "createdAt"::text, id::text from items where name = 'a'`.execute(t.db)
    const [sort, values] = JSON.parse(Buffer.from(page.nextCursor!, 'base64url').toString('utf8')) as [string, string[]]
    expect(sort).toBe('qty,createdAt,id')
    expect(values).toEqual([rows[0]!.qty, rows[0]!.createdAt, rows[0]!.id])
    const next = await items.findMany({ sort: ['qty', 'createdAt'], limit: 1, cursor: page.nextCursor! })
    expect(next.items.map((item) => item.name)).toEqual(['b'])
  })

  test('an int8 key beyond 2^53, which the driver reads as a number that lost digits, still pages exactly', async () => {
    await sql`create table if not exists big_keys (id int8 primary key, label text not null)`.execute(t.db)
    interface BigDB {
      big_keys: { id: number; label: string }
    }
    class BigKeyRepository extends BaseRepository<BigDB, 'big_keys'> {
      readonly table = 'big_keys'
      protected override readonly keys = { id: 'integer' } satisfies KeyColumns<RowOf<BigDB, 'big_keys'>>
    }
    const db = t.db as unknown as Kysely<BigDB>
    try {
      // 2^53 + 1 and 2^53 + 3 both read as numbers one off; 2^53 - 1 reads exactly.
      await sql`insert into big_keys (id, label) values (9007199254740991, 'safe'), (9007199254740993, 'one'), (9007199254740995, 'two'), (9007199254740997, 'three')`.execute(db)
      const repository = new BigKeyRepository(new UnitOfWork<BigDB>(db))
      const labels: string[] = []
      const cursors: string[] = []
      let cursor: string | undefined
      do {
        const page = await repository.findMany({ sort: ['id'], limit: 1, ...(cursor ? { cursor } : {}) })
        labels.push(...page.items.map((item) => item.label))
        cursor = page.nextCursor ?? undefined
        if (cursor) cursors.push((JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string[]])[1][0]!)
      } while (cursor && labels.length < 10)
      expect(labels).toEqual(['safe', 'one', 'two', 'three'])
      expect(cursors).toEqual(['9007199254740991', '9007199254740993', '9007199254740995'])
    } finally {
      await sql`drop table big_keys`.execute(t.db)
    }
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
