// PostgreSQL pools parse timestamptz text with fastkit's own parser: exactly the Dates node-postgres'
// parser gives (the same instant, the fraction cut to milliseconds), for any text, and only while the
// app has not set a timestamptz parser of its own.
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { isNodePostgresDateParser, timestamptzParser } from '../src/db/timestamptz-parser.js'
import { createDatabase } from '../src/index.js'
import { createTestDatabase, dialectsUnderTest, type TestDatabase } from '../src/testing/index.js'

const TIMESTAMPTZ = 1184
const nodePostgres = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => unknown
const parse = timestamptzParser(nodePostgres)

/** What a parser answered, comparable: a Date's time (NaN for an invalid one), anything else as is. */
const outcome = (value: unknown) => (value instanceof Date ? { time: value.getTime() } : { value })

/** A small deterministic generator (mulberry32), so a failure names a text that fails again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('timestamptzParser', () => {
  test("every six-digit fraction gives node-postgres' millisecond", () => {
    const mismatches: string[] = []
    for (let i = 0; i < 1_000_000; i++) {
      const text = `2026-12-03 07:05:25.${String(i).padStart(6, '0')}+00`
      if ((parse(text) as Date).getTime() !== (nodePostgres(text) as Date).getTime()) mismatches.push(text)
    }
    expect(mismatches).toEqual([])
  })

  test("texts as PostgreSQL writes them, with any offset and fraction length, give node-postgres' Date", () => {
    const next = random(20261203)
    const pad = (value: number, width = 2) => String(value).padStart(width, '0')
    const pick = (n: number) => Math.floor(next() * n)
    for (let i = 0; i < 20_000; i++) {
      const fraction = pick(7)
      const offset = pick(3)
      const text =
        `${pad(100 + pick(9900), 4)}-${pad(1 + pick(12))}-${pad(1 + pick(31))} ${pad(pick(24))}:${pad(pick(60))}:${pad(pick(60))}` +
        (fraction ? `.${pad(pick(10 ** fraction), fraction)}` : '') +
        `${next() < 0.5 ? '+' : '-'}${pad(pick(16))}` +
        (offset > 0 ? `:${pad(pick(60))}` : '') +
        (offset > 1 ? `:${pad(pick(60))}` : '')
      expect(outcome(parse(text)), text).toEqual(outcome(nodePostgres(text)))
    }
  })

  test("node-postgres' own parser is recognised as such; a parser an app sets is not", () => {
    expect(isNodePostgresDateParser(nodePostgres)).toBe(true)
    expect(isNodePostgresDateParser((text) => text)).toBe(false)
    expect(isNodePostgresDateParser((text) => Object.assign(nodePostgres(text) as Date, { microseconds: 912 }))).toBe(false)
    expect(isNodePostgresDateParser(() => {
      throw new Error('not a date')
    })).toBe(false)
  })

  test.each([
    ['a year before 100', '0099-06-30 12:00:00+00'],
    ['a BC year', '0044-03-15 12:00:00+00 BC'],
    ['a five-digit year', '12026-12-03 07:05:25+00'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
    ['seven fraction digits', '2026-12-03 07:05:25.1234567+00'],
    ['an offset with seconds (local mean time)', '1900-01-01 00:00:00+00:19:32'],
    ['a date that does not exist', '2026-02-30 00:00:00+00'],
    ['no offset', '2026-12-03 07:05:25'],
    ['a dot without digits', '2026-12-03 07:05:25.+00'],
    ['a letter among the digits', '2026-12-O3 07:05:25+00'],
    ['a truncated offset', '2026-12-03 07:05:25+0'],
    ['an offset cut after its colon', '2026-12-03 07:05:25+05:'],
    ['trailing text', '2026-12-03 07:05:25+00 UTC'],
    ['SQL DateStyle', '12/03/2026 07:05:25.123 UTC'],
    ['an empty text', ''],
  ])("%s gives what node-postgres' parser gives", (_, text) => {
    expect(outcome(parse(text))).toEqual(outcome(nodePostgres(text)))
  })
})

if (dialectsUnderTest().includes('postgres')) {
  describe('timestamptz through a PostgreSQL pool', () => {
    let t: TestDatabase<any>
    let db: Kysely<any>
    beforeAll(async () => {
      t = await createTestDatabase<any>('postgres')
      db = createDatabase({ url: t.url, pool: { max: 1 } })
    })
    afterAll(async () => {
      await db?.destroy()
      await t?.destroy()
    })

    test.each(['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Chatham'])(
      "in time zone %s, every value reads as node-postgres' parser reads its text",
      async (zone) => {
        await sql`select set_config('TimeZone', ${zone}, false)`.execute(db)
        const { rows } = await sql<{ at: unknown; text: string }>`
          select at, at::text as text from (
            select timestamptz '1900-01-01 00:00:00+00' + (i * interval '13 days 7 hours 11 minutes 13.123457 seconds') as at
            from generate_series(0, 2000) as i
            union all select 'infinity'::timestamptz union all select '-infinity'::timestamptz
            union all select '0044-03-15 12:00:00+00 BC'::timestamptz union all select '0099-06-30 12:00:00+00'::timestamptz
          ) as s`.execute(db)
        expect(rows).toHaveLength(2005)
        for (const row of rows) expect(outcome(row.at), row.text).toEqual(outcome(nodePostgres(row.text)))
      },
    )

    /** What a pool made by `open` reads for a timestamptz while the app's parser (text, prefixed) is set. */
    async function readWithAppParser(open: () => Promise<Kysely<any>>): Promise<unknown> {
      pg.types.setTypeParser(TIMESTAMPTZ, (text: string) => `text: ${text}`)
      const own = await open()
      try {
        return (await sql<{ at: unknown }>`select timestamptz '2026-12-03 07:05:25+00' as at`.execute(own)).rows[0]!.at
      } finally {
        pg.types.setTypeParser(TIMESTAMPTZ, nodePostgres)
        await own.destroy()
      }
    }

    test('a timestamptz parser the app set before fastkit loaded is the one its pools use', async () => {
      const at = await readWithAppParser(async () => {
        vi.resetModules()
        const fresh = (await import('../src/db/create-database.js')) as typeof import('../src/db/create-database.js')
        return fresh.createDatabase({ url: t.url, pool: { max: 1 } })
      })
      expect(at).toMatch(/^text: 2026-12-0[23] \d\d:\d5:25[+-]/)
    })

    test('a timestamptz parser the app set after fastkit loaded is the one a new pool uses', async () => {
      const at = await readWithAppParser(async () => createDatabase({ url: t.url, pool: { max: 1 } }))
      expect(at).toMatch(/^text: 2026-12-0[23] \d\d:\d5:25[+-]/)
    })
  })
}
