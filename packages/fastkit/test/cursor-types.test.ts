import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { isHttpError, UnitOfWork } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { buildTestApp } from './support/app.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRepository, ItemRouter } from './support/item-resource.js'

const forge = (sort: string, values: unknown[]) => Buffer.from(JSON.stringify([sort, values])).toString('base64url')
const ID = '3f2c1a9e-8b7d-4c6e-9f10-112233445566'
const TIME = '2026-12-02 03:12:47.123456+00'

/** What PostgreSQL says about a value it cannot read: none of it may reach a client. */
const DATABASE_TEXT = /invalid input syntax|for type [a-z]|out of range|time zone|22P02|22007|22008|22003|uuid:|timestamp with/i

describe.each(dialectsUnderTest())('cursor values are checked against the types of their keys on %s', (kind) => {
  const t = useTestDatabase(kind)
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestApp(t.db, async (app) => {
      await app.register(new ItemRouter().plugin)
    })
  })
  afterAll(() => app.close())

  test.each([
    ['a timestamp that is not one', 'createdAt,id', ['yesterday-ish', ID]],
    ['a timestamp in month 13', 'createdAt,id', ['2026-13-01 00:00:00+00', ID]],
    ['February 30th', 'createdAt,id', ['2026-02-30 10:00:00+00', ID]],
    ['hour 25', 'createdAt,id', ['2026-01-01 25:00:00+00', ID]],
    ['a year past PostgreSQL’s range', 'createdAt,id', ['999999-01-01 00:00:00+00', ID]],
    ['an id that is not a uuid', 'createdAt,id', [TIME, 'not-a-uuid']],
    ['an id with a NUL', 'createdAt,id', [TIME, `${ID}\u0000`]],
    ['an integer with a fraction', 'qty,id', ['1.5', ID]],
    ['an integer that is a word', 'qty,id', ['seven', ID]],
    ['an integer over bigint', 'qty,id', ['99999999999999999999', ID]],
    ['a text key with a NUL', 'name,id', ['a\u0000b', ID]],
    ['a text key with a lone surrogate', 'name,id', ['a\ud800', ID]],
    ['a number where a string belongs', 'name,id', [7, ID]],
  ])('%s → 400 "Invalid cursor", before any SQL', async (_label, sort, values) => {
    t.statements.length = 0
    const res = await app.inject(`/items?sort=${sort.split(',')[0]}&cursor=${forge(sort, values)}`)
    expect(res.statusCode, res.body).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    const problem = res.json()
    expect(problem).toMatchObject({ code: 'BAD_REQUEST', errors: [{ path: 'cursor', message: 'is not a cursor of this list' }] })
    expect(problem.detail).toMatch(/^Invalid cursor/)
    expect(res.body).not.toMatch(DATABASE_TEXT)
    expect(t.statements.filter((s) => /\bitems\b/.test(s))).toEqual([])
  })

  test('cursors the server made, and hand-made ones in the forms PostgreSQL reads, still page', async () => {
    await t.db
      .insertInto('items')
      .values(Array.from({ length: 7 }, (_, i) => ({ name: `n${i}`, qty: i })))
      .execute()
    for (const sort of ['createdAt', '-createdAt', 'qty', '-qty', 'name']) {
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const res = await app.inject(`/items?sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        expect(res.statusCode, res.body).toBe(200)
        const page = res.json() as { items: { name: string }[]; nextCursor: string | null }
        seen.push(...page.items.map((i) => i.name))
        cursor = page.nextCursor
      } while (cursor)
      expect(seen.sort(), sort).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'])
    }
    for (const time of ['2026-01-01T00:00:00Z', '2026-01-01', '2026-01-01 00:00:00.5+05:30', 'infinity']) {
      const res = await app.inject(`/items?sort=-createdAt&cursor=${forge('-createdAt,-id', [time, ID])}`)
      expect(res.statusCode, `${time}: ${res.body}`).toBe(200)
    }
    expect((await app.inject(`/items?sort=qty&cursor=${forge('qty,id', ['-3', ID])}`)).statusCode).toBe(200)
  })

  test('without declared key types, a value PostgreSQL cannot read is still "Invalid cursor", never its message', async () => {
    const uow = new UnitOfWork(t.db)
    const items = new ItemRepository(uow)
    for (const [sort, values] of [
      ['createdAt', ['yesterday-ish', ID]],
      ['qty', ['1.5', ID]],
      ['createdAt', [TIME, 'not-a-uuid']],
    ] as const) {
      const error = await items.findMany({ sort: [sort], cursor: forge(`${sort},id`, [...values]) }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isHttpError(error) && error.status, String(values)).toBe(400)
      expect((error as Error).message).toMatch(/^Invalid cursor/)
      expect((error as Error).message).not.toMatch(DATABASE_TEXT)
    }
    await uow.rollback()
  })
})
