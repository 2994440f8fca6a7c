import pg from 'pg'
import { CamelCasePlugin, sql, type Generated, type Kysely, type Migration } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { MemoryHub, MemoryTransport, settled, TableFeed, UnitOfWork, type DatabaseKind, type TableFeedOptions } from '../src/index.js'
import { EventBus } from '../src/extend.js'
import { createTestDatabase, dialectsUnderTest, type TestDatabase } from '../src/testing/index.js'

interface FeedDB {
  feedRows: { id: Generated<string>; tx: Generated<string>; n: number; createdAt: Generated<Date> }
}
type FeedRow = { id: string; tx: string; n: number; createdAt: Date }

const migrations: Record<string, Migration> = {
  '0001_feed_rows': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('feed_rows')
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('tx', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
        .execute()
      await db.schema.createIndex('feed_rows_order').on('feed_rows').columns(['tx', 'created_at', 'id']).execute()
    },
  },
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const insert = (db: Kysely<FeedDB>, ...ns: number[]) =>
  db.insertInto('feedRows').values(ns.map((n) => ({ n }))).returning(['tx', 'n']).execute()

/** Every row in the feed's order, as a reader paging with `settled` would list them once all settled. */
const inOrder = async (db: Kysely<FeedDB>) =>
  (await db.selectFrom('feedRows').select('n').orderBy('tx').orderBy('createdAt').orderBy('id').execute()).map((row) => row.n)

/** A migrated `feed_rows` database of `kind` for the file, and started feeds over it that record what they get. */
function useFeeds(kind: DatabaseKind) {
  let t: TestDatabase<FeedDB> | undefined
  const feeds: TableFeed<FeedRow>[] = []
  beforeAll(async () => {
    t = await createTestDatabase<FeedDB>(kind, { migrations: { migrations }, database: { plugins: [new CamelCasePlugin()] } })
  })
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((feed) => feed.close()))
    await t!.db.deleteFrom('feedRows').execute()
  })
  afterAll(() => t?.destroy())

  /** A started feed over `feed_rows` that records what it hands over. */
  async function follow(options: Partial<TableFeedOptions<FeedRow>> = {}) {
    const batches: FeedRow[][] = []
    const feed = new TableFeed<FeedRow>({
      db: t!.db,
      table: 'feedRows',
      order: ['tx', 'createdAt', 'id'],
      pollMs: 0,
      onRows: (rows) => void batches.push(rows),
      onError: () => {},
      ...options,
    })
    feeds.push(feed)
    await feed.start()
    const seen = () => batches.flat().map((row) => row.n)
    return { feed, batches, seen }
  }

  return {
    get t() {
      return t!
    },
    follow,
    closeAll: () => Promise.all(feeds.splice(0).map((feed) => feed.close())),
  }
}

describe.each(dialectsUnderTest())('TableFeed on %s', (kind) => {
  const f = useFeeds(kind)
  const follow = f.follow

  test('hands over the rows written after start, oldest first, each once, with their columns; earlier rows not', async () => {
    const db = f.t.db
    await insert(db, 1, 2)
    const { feed, batches, seen } = await follow()
    for (const n of [3, 4]) feed.wake((await insert(db, n))[0]!.tx)
    const [both] = await UnitOfWork.run(db, async (uow) => [await insert(uow.db, 5, 6)])
    feed.wake(both[0]!.tx)
    // 5 and 6 share a transaction and may share a clock tick (PGlite's is coarse): the id decides then.
    const expected = (await inOrder(db)).filter((n) => n >= 3)
    expect(expected.slice(0, 2)).toEqual([3, 4])
    await vi.waitFor(() => expect(seen()).toEqual(expected))
    const row = batches.flat()[0]!
    expect(Object.keys(row).sort()).toEqual(['createdAt', 'id', 'n', 'tx'])
    expect(row.createdAt).toBeInstanceOf(Date)
    await sleep(100)
    expect(seen()).toEqual(expected)
  })

  test("wake's promise resolves once the transaction's rows were handed over; at once without a tx", async () => {
    const db = f.t.db
    const { feed, seen } = await follow()
    const [row] = await insert(db, 1)
    await feed.wake(row!.tx)
    expect(seen()).toEqual([1])
    await feed.wake()
    // Already handed over: resolves without another read.
    await feed.wake(row!.tx)
    expect(seen()).toEqual([1])
  })

  test('columns computes more values per row in the same read', async () => {
    const handed: (FeedRow & { double: number })[] = []
    const { feed } = await follow({ columns: sql`t.n * 2 as double`, onRows: (rows) => void handed.push(...(rows as (FeedRow & { double: number })[])) })
    await feed.wake((await insert(f.t.db, 21))[0]!.tx)
    expect(handed.map((row) => [row.n, row.double])).toEqual([[21, 42]])
  })

  test('columnsPer computes columns once per distinct value in a batch, not once per row', async () => {
    const db = f.t.db
    // nextval is volatile: computed once per row, each row would get a number of its own.
    await sql`create sequence if not exists feed_group_calls`.execute(db)
    type Grouped = FeedRow & { tenfold: number; call: string }
    const handed: Grouped[] = []
    const { feed } = await follow({
      columns: sql`t.n * 10 as tenfold, nextval('feed_group_calls')::text as call`,
      columnsPer: 'n',
      onRows: (rows) => void handed.push(...(rows as Grouped[])),
    })
    const [rows] = await UnitOfWork.run(db, async (uow) => [await insert(uow.db, 1, 2, 1, 2, 1)])
    await feed.wake(rows[0]!.tx)
    expect(handed.map((row) => row.n).sort()).toEqual([1, 1, 1, 2, 2])
    for (const row of handed) expect(row.tenfold).toBe(row.n * 10)
    const calls = (n: number) => new Set(handed.filter((row) => row.n === n).map((row) => row.call))
    expect(calls(1).size).toBe(1)
    expect(calls(2).size).toBe(1)
    expect(calls(1)).not.toEqual(calls(2))
    expect(Object.keys(handed[0]!).sort()).toEqual(['call', 'createdAt', 'id', 'n', 'tenfold', 'tx'])
  })

  test('columnsPer without columns is refused', () => {
    expect(() => new TableFeed({ db: f.t.db, table: 'feedRows', order: ['tx', 'id'], columnsPer: 'n', onRows: () => {} })).toThrow(TypeError)
  })

  test('a write that rolls back is never handed over', async () => {
    const db = f.t.db
    const { feed, seen } = await follow()
    await expect(
      UnitOfWork.run(db, async (uow) => {
        await insert(uow.db, 1)
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    feed.wake((await insert(db, 2))[0]!.tx)
    await vi.waitFor(() => expect(seen()).toEqual([2]))
    expect(await inOrder(db)).toEqual([2])
  })

  test('a row committed without a wake-up is found by the poll', async () => {
    const { seen } = await follow({ pollMs: 30 })
    await insert(f.t.db, 7)
    await vi.waitFor(() => expect(seen()).toEqual([7]))
  })

  test('a wake-up reaches the feed of another process through the bus', async () => {
    const hub = new MemoryHub()
    const [busA, busB] = [new EventBus({ transport: new MemoryTransport({ hub }) }), new EventBus({ transport: new MemoryTransport({ hub }) })]
    await Promise.all([busA.start(), busB.start()])
    try {
      const a = await follow({ bus: busA })
      const b = await follow({ bus: busB })
      a.feed.wake((await insert(f.t.db, 1))[0]!.tx)
      // No poll: only the wake-up sent through the bus makes B read.
      await vi.waitFor(() => expect(b.seen()).toEqual([1]))
      expect(a.seen()).toEqual([1])
    } finally {
      await f.closeAll()
      await Promise.all([busA.close(), busB.close()])
    }
  })

  test("wake-ups go on the wire only once another process's feed was heard from, whichever started first", async () => {
    const hub = new MemoryHub()
    const [busA, busB, wireBus] = [1, 2, 3].map(() => new EventBus({ transport: new MemoryTransport({ hub }) }))
    await Promise.all([busA!.start(), busB!.start(), wireBus!.start()])
    // What crosses the wire, seen by a bus that runs no feed (and so answers no hello).
    const wire: { tx: string | null; hello?: true }[] = []
    wireBus!.subscribe('fastkit.feed:feedRows', (message) => void wire.push(message.data as (typeof wire)[number]))
    try {
      const a = await follow({ bus: busA })
      await vi.waitFor(() => expect(wire).toEqual([expect.objectContaining({ tx: null, hello: true })]))
      // Alone, A hands its rows over and sends nothing.
      await a.feed.wake((await insert(f.t.db, 1))[0]!.tx)
      expect(a.seen()).toEqual([1])
      await sleep(20)
      expect(wire).toHaveLength(1)
      // B says hello, A answers: from now on each tells the other (no poll: only wake-ups make them read).
      const b = await follow({ bus: busB })
      await vi.waitFor(() => expect(wire).toHaveLength(3))
      expect(wire[1]).toMatchObject({ tx: null, hello: true })
      expect(wire[2]).toEqual({ tx: null, from: expect.any(String) })
      const [second] = await insert(f.t.db, 2)
      await b.feed.wake(second!.tx)
      await vi.waitFor(() => expect(a.seen()).toEqual([1, 2]))
      const [third] = await insert(f.t.db, 3)
      await a.feed.wake(third!.tx)
      await vi.waitFor(() => expect(b.seen()).toEqual([2, 3]))
      expect(wire.slice(3).map((data) => data.tx)).toEqual([second!.tx, third!.tx])
    } finally {
      await f.closeAll()
      await Promise.all([busA!.close(), busB!.close(), wireBus!.close()])
    }
  })

  test('more rows than a batch: handed over in order, batchSize at a time', async () => {
    const { feed, batches, seen } = await follow({ batchSize: 500 })
    const rows = await insert(f.t.db, ...Array.from({ length: 1_200 }, (_, i) => i))
    feed.wake(rows[0]!.tx)
    await vi.waitFor(() => expect(seen()).toHaveLength(1_200))
    expect(batches.map((batch) => batch.length)).toEqual([500, 500, 200])
    expect(seen()).toEqual(await inOrder(f.t.db))
  })

  test('onRows that throws gets the same rows again later: none skipped, none twice', async () => {
    let failures = 2
    const handed: number[] = []
    const errors: unknown[] = []
    const { feed } = await follow({
      onRows: (rows) => {
        if (failures-- > 0) throw new Error('delivery failed')
        handed.push(...rows.map((row) => row.n))
      },
      onError: (error) => errors.push(error),
    })
    feed.wake((await insert(f.t.db, 1))[0]!.tx)
    feed.wake((await insert(f.t.db, 2))[0]!.tx)
    await vi.waitFor(() => expect(handed).toEqual([1, 2]), { timeout: 3_000 })
    expect(errors).toHaveLength(2)
    feed.wake((await insert(f.t.db, 3))[0]!.tx)
    await vi.waitFor(() => expect(handed).toEqual([1, 2, 3]))
  })

  test('a read that fails (the table is gone for a moment) is retried from the same position', async () => {
    const db = f.t.db
    const errors: unknown[] = []
    const { feed, seen } = await follow({ onError: (error) => errors.push(error) })
    feed.wake((await insert(db, 1))[0]!.tx)
    await vi.waitFor(() => expect(seen()).toEqual([1]))
    const tx = (await insert(db, 2))[0]!.tx
    await sql`alter table feed_rows rename to feed_rows_away`.execute(db)
    feed.wake(tx)
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0))
    await sql`alter table feed_rows_away rename to feed_rows`.execute(db)
    await vi.waitFor(() => expect(seen()).toEqual([1, 2]), { timeout: 3_000 })
  })

  test('started while its table cannot be read: start resolves, reports, and the feed follows the table once it can', async () => {
    const db = f.t.db
    const errors: unknown[] = []
    await sql`alter table feed_rows rename to feed_rows_away`.execute(db)
    let feed: TableFeed<FeedRow>
    let seen: () => number[]
    try {
      ;({ feed, seen } = await follow({ onError: (error) => errors.push(error) }))
      expect(errors).toHaveLength(1)
    } finally {
      await sql`alter table feed_rows_away rename to feed_rows`.execute(db)
    }
    await vi.waitFor(async () => {
      await feed.wake((await insert(db, 1))[0]!.tx)
      expect(seen()).toContain(1)
    })
    await feed.wake((await insert(db, 2))[0]!.tx)
    expect(seen().at(-1)).toBe(2)
  })

  test('close waits for the batch being handed over, and nothing is handed over after it', async () => {
    let release!: () => void
    let enter!: () => void
    const entered = new Promise<void>((resolve) => (enter = resolve))
    const handed: number[] = []
    const { feed } = await follow({
      onRows: async (rows) => {
        enter()
        await new Promise<void>((resolve) => (release = resolve))
        handed.push(...rows.map((row) => row.n))
      },
    })
    feed.wake((await insert(f.t.db, 1))[0]!.tx)
    await entered
    let closed = false
    const closing = feed.close().then(() => (closed = true))
    await sleep(20)
    expect(closed).toBe(false)
    release()
    await closing
    expect(handed).toEqual([1])
    feed.wake((await insert(f.t.db, 2))[0]!.tx)
    await sleep(100)
    expect(handed).toEqual([1])
  })
})

if (dialectsUnderTest().includes('postgres')) {
  describe('TableFeed beside other transactions (PostgreSQL: PGlite runs one transaction at a time)', () => {
    const f = useFeeds('postgres')
    const follow = f.follow

    test(
      'an older transaction still writing holds back rows committed after it; once it ends, its rows come first',
      async () => {
        const db = f.t.db
        const { feed, seen } = await follow()
        const older = new pg.Client({ connectionString: f.t.url })
        await older.connect()
        try {
          await older.query('begin')
          const { rows: [early] } = await older.query<{ tx: string }>(`insert into feed_rows (n) values (1) returning tx::text`)
          const later = (await insert(db, 2))[0]!
          expect(BigInt(later.tx)).toBeGreaterThan(BigInt(early!.tx))
          feed.wake(later.tx)
          // Committed, but not settled: the feed keeps trying and hands over nothing meanwhile.
          await sleep(200)
          expect(seen()).toEqual([])
          const waiting = await db.selectFrom('feedRows').select('n').where(settled('tx')).execute()
          expect(waiting).toEqual([])
          await older.query('commit')
          await vi.waitFor(() => expect(seen()).toEqual([1, 2]))
        } finally {
          await older.end()
        }
      },
    )

    test("wake's promise waits while an older transaction holds the row back, up to maxWaitMs; closing releases it", async () => {
      const db = f.t.db
      const { feed, seen } = await follow({ maxWaitMs: 300 })
      const older = new pg.Client({ connectionString: f.t.url })
      await older.connect()
      try {
        await older.query('begin')
        await older.query(`insert into feed_rows (n) values (1)`)
        const later = (await insert(db, 2))[0]!
        const started = Date.now()
        await feed.wake(later.tx)
        expect(Date.now() - started).toBeGreaterThanOrEqual(290)
        expect(seen()).toEqual([])
        let released = false
        const waiting = feed.wake(later.tx).then(() => (released = true))
        await sleep(50)
        expect(released).toBe(false)
        await feed.close()
        await waiting
        expect(released).toBe(true)
      } finally {
        await older.query('rollback')
        await older.end()
      }
    })

    test(
      'eight writers racing, each transaction open for a random while: every committed row once, in the table order',
      async () => {
        const db = f.t.db
        const { feed, seen } = await follow({ pollMs: 200 })
        const writers = Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 40; i++) {
            const n = w * 1_000 + i
            const outcome = await UnitOfWork.run(db, async (uow) => {
              const [row] = await insert(uow.db, n)
              await new Promise((resolve) => setTimeout(resolve, Math.random() * 4))
              if (i % 10 === 9) throw new Error('rolled back')
              return row!
            }).catch(() => undefined)
            if (outcome) feed.wake(outcome.tx)
          }
        })
        await Promise.all(writers)
        const all = await inOrder(db)
        expect(all).toHaveLength(8 * 36)
        await vi.waitFor(() => expect(seen()).toHaveLength(all.length), { timeout: 5_000 })
        expect(seen()).toEqual(all)
      },
    )
  })
}
