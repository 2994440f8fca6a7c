// PostgreSQL pools prepare parameterized statements (PoolOptions.prepareStatements, default on): one
// parse per connection, the plan reusable; a table changed under a prepared `select *` still answers.
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createDatabase } from '../src/index.js'
import { createTestDatabase, dialectsUnderTest, type TestDatabase } from '../src/testing/index.js'

/** The statements this session (the pool's one connection) has prepared. */
const prepared = async (db: Kysely<any>) =>
  (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(db)).rows

if (dialectsUnderTest().includes('postgres')) {
  describe('prepared statements (PostgreSQL)', () => {
    let t: TestDatabase<any>
    const opened: Kysely<any>[] = []
    /** A pool of one connection, so every statement runs in the same session. */
    const open = (prepareStatements?: boolean) => {
      const db = createDatabase({ url: t.url, pool: { max: 1, ...(prepareStatements === undefined ? {} : { prepareStatements }) } })
      opened.push(db)
      return db
    }
    beforeAll(async () => {
      t = await createTestDatabase<any>('postgres')
    })
    afterAll(async () => {
      await Promise.all(opened.map((db) => db.destroy()))
      await t?.destroy()
    })

    test('a parameterized statement is prepared once per connection and reused; one without parameters is not', async () => {
      const db = open()
      for (const n of [1, 2, 3]) expect((await sql<{ n: number }>`select ${n}::int + 1 as n`.execute(db)).rows).toEqual([{ n: n + 1 }])
      await sql`select 42 as answer`.execute(db)
      const statements = await prepared(db)
      expect(statements.filter((s) => s.statement.includes('+ 1 as n'))).toHaveLength(1)
      expect(statements.find((s) => s.statement.includes('answer'))).toBeUndefined()
      expect(statements.every((s) => s.name.startsWith('fastkit_'))).toBe(true)
    })

    test('prepareStatements: false prepares nothing', async () => {
      const db = open(false)
      await sql`select ${1}::int as n`.execute(db)
      await sql`select ${2}::int as n`.execute(db)
      expect(await prepared(db)).toEqual([])
    })

    test('a table that gains a column under a prepared select * answers with it, outside a transaction at once', async () => {
      const db = open()
      await sql`create table prepared_rows (id int primary key, a text)`.execute(db)
      try {
        await sql`insert into prepared_rows values (1, 'x')`.execute(db)
        const read = () => sql<Record<string, unknown>>`select * from prepared_rows where id = ${1}`.execute(db).then((r) => r.rows)
        expect(await read()).toEqual([{ id: 1, a: 'x' }])
        await sql`alter table prepared_rows add column b text default 'new'`.execute(db)
        // PostgreSQL refuses the old plan ("cached plan must not change result type"); the pool runs it again unprepared.
        expect(await read()).toEqual([{ id: 1, a: 'x', b: 'new' }])
        expect(await read()).toEqual([{ id: 1, a: 'x', b: 'new' }])
      } finally {
        await sql`drop table prepared_rows`.execute(db)
      }
    })

    test('inside a transaction that one statement fails (the transaction with it); the connection then runs it unprepared', async () => {
      const db = open()
      await sql`create table prepared_tx_rows (id int primary key, a text)`.execute(db)
      try {
        await sql`insert into prepared_tx_rows values (1, 'x')`.execute(db)
        const read = (on: Kysely<any>) => sql<Record<string, unknown>>`select * from prepared_tx_rows where id = ${1}`.execute(on).then((r) => r.rows)
        expect(await read(db)).toEqual([{ id: 1, a: 'x' }])
        await sql`alter table prepared_tx_rows add column b text default 'new'`.execute(db)
        await expect(db.transaction().execute((trx) => read(trx))).rejects.toMatchObject({ code: '0A000' })
        expect(await db.transaction().execute((trx) => read(trx))).toEqual([{ id: 1, a: 'x', b: 'new' }])
      } finally {
        await sql`drop table prepared_tx_rows`.execute(db)
      }
    })
  })
}
