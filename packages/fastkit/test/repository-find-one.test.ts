// BaseRepository.findById / findOne: unscoped lookups by plain values reuse one compiled query per
// database and field list; everything else is built per call. Both must answer the same rows.
import { CamelCasePlugin, sql, type Generated, type Kysely } from 'kysely'
import { describe, expect, test } from 'vitest'
import { BaseRepository, UnitOfWork } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRepository } from './support/item-resource.js'

describe.each(dialectsUnderTest())('BaseRepository.findById / findOne on %s', (kind) => {
  const t = useTestDatabase(kind)
  const repository = () => new ItemRepository(new UnitOfWork(t.db))
  const seed = () =>
    t.db
      .insertInto('items')
      .values([
        { name: 'apple', qty: 1, owner: 'ann' },
        { name: 'pear', qty: 2, owner: 'bob' },
        { name: 'plum', qty: 2, owner: null },
      ])
      .returningAll()
      .execute()

  test('each call answers its own values, and the same SQL text is reused for them', async () => {
    const [apple, pear, plum] = await seed()
    expect(await repository().findById(apple!.id)).toEqual(apple)
    expect(await repository().findById(pear!.id)).toEqual(pear)
    expect(await repository().findById('00000000-0000-4000-8000-000000000000')).toBeUndefined()
    expect(await repository().findOne({ qty: 2, name: 'plum' })).toEqual(plum)
    expect(await repository().findOne({ name: 'pear', qty: 2 })).toEqual(pear)
    expect(await repository().findOne({ qty: 1, name: 'plum' })).toBeUndefined()
    const byId = t.queries.filter((q) => q.parameters.includes(apple!.id) || q.parameters.includes(pear!.id))
    expect(byId).toHaveLength(2)
    expect(byId[0]!.sql).toBe(byId[1]!.sql)
    expect(byId.map((q) => q.parameters[0])).toEqual([apple!.id, pear!.id])
  })

  test('scopes, operators and undefined fields are built per call, with the same answers as before', async () => {
    const [apple, pear] = await seed()
    const mine = { scope: (eb: any) => eb('items.owner', '=', 'ann') }
    expect(await repository().findById(apple!.id, mine)).toEqual(apple)
    expect(await repository().findById(pear!.id, mine)).toBeUndefined()
    expect(await repository().findOne({ qty: { gte: 2 }, owner: 'bob' })).toEqual(pear)
    expect(await repository().findOne({ name: 'pear', owner: undefined })).toEqual(pear)
  })

  test('inside a unit that has written, the lookup sees its uncommitted row; after a rollback it is gone', async () => {
    const uow = new UnitOfWork(t.db)
    const items = new ItemRepository(uow)
    const created = await items.create({ name: 'fig', qty: 5 })
    expect(await items.findById(created.id)).toEqual(created)
    await uow.rollback()
    expect(await repository().findById(created.id)).toBeUndefined()
  })

  test('databases with other plugins, and other tables, get their own SQL', async () => {
    const [apple] = await seed()
    expect(await repository().findById(apple!.id)).toEqual(apple)
    // The test schema's columns are camelCase in SQL: through a CamelCasePlugin, `createdAt` would be
    // "created_at", so a query compiled for one database must not serve the other.
    const snake = t.db.withPlugin(new CamelCasePlugin())
    await sql`create table if not exists fruit_notes (id uuid primary key default gen_random_uuid(), item_name text not null)`.execute(t.db)
    interface NotesDB {
      fruitNotes: { id: Generated<string>; itemName: string }
    }
    class NoteRepository extends BaseRepository<NotesDB, 'fruitNotes'> {
      readonly table = 'fruitNotes'
    }
    const notesDb = snake as unknown as Kysely<NotesDB>
    const [note] = await notesDb.insertInto('fruitNotes').values({ itemName: 'apple' }).returningAll().execute()
    const notes = new NoteRepository(new UnitOfWork<NotesDB>(notesDb))
    expect(await notes.findById(note!.id)).toEqual({ id: note!.id, itemName: 'apple' })
    expect(await notes.findOne({ itemName: 'apple' })).toEqual(note)
    expect(await repository().findOne({ name: 'apple' })).toEqual(apple)
    await sql`drop table fruit_notes`.execute(t.db)
  })
})
