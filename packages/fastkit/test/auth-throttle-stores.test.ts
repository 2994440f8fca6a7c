import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  KyselyThrottleStore,
  MemoryThrottleStore,
  RedisThrottleStore,
  THROTTLE_EVENTS_TABLE,
  throttleEventsMigration,
  type ThrottleStore,
} from '../src/index.js'
import { createTestDatabase, dialectsUnderTest, testRedisUrl, type TestDatabase } from '../src/testing/index.js'

interface StoreCase {
  readonly name: string
  setUp(): Promise<ThrottleStore>
  tearDown(): Promise<void>
}

const cases: StoreCase[] = [
  { name: 'memory', setUp: async () => new MemoryThrottleStore(), tearDown: async () => {} },
  ...dialectsUnderTest().map((kind): StoreCase => {
    let t: TestDatabase<any> | undefined
    return {
      name: `kysely on ${kind}`,
      async setUp() {
        t = await createTestDatabase(kind, { migrations: { migrations: { '0001_throttle_events': throttleEventsMigration() } } })
        return new KyselyThrottleStore({ db: t.db })
      },
      tearDown: async () => t?.destroy(),
    }
  }),
  ...(testRedisUrl()
    ? [
        ((): StoreCase => {
          let store: RedisThrottleStore | undefined
          return {
            name: 'redis',
            // A prefix of its own: the Redis server is shared with other test runs.
            setUp: async () => (store = new RedisThrottleStore({ url: testRedisUrl(), prefix: `{test:${randomBytes(4).toString('hex')}}:` })),
            tearDown: async () => store?.close(),
          }
        })(),
      ]
    : []),
]

const T0 = 1_900_000_000_000
const limitOf = (key: string, limit: number, windowMs = 60_000) => ({ key, limit, windowMs })

describe.each(cases)('ThrottleStore: $name', (c) => {
  let store: ThrottleStore
  // Fresh keys per test, so tests of one store never see each other's counts.
  const fresh = () => `k-${randomBytes(6).toString('hex')}`

  beforeAll(async () => {
    store = await c.setUp()
  })
  afterAll(() => c.tearDown())

  test('grants up to the limit, then refuses with the time until the oldest event leaves the window', async () => {
    const key = fresh()
    for (let i = 0; i < 3; i++) {
      expect(await store.reserve({ id: randomUUID(), at: T0 + i * 1000, limits: [limitOf(key, 3)] })).toEqual({ granted: true })
    }
    expect(await store.reserve({ id: randomUUID(), at: T0 + 10_000, limits: [limitOf(key, 3)] })).toEqual({ granted: false, retryAfterMs: 50_000 })
    // The window slides: once the first event (T0) has left it, one more fits.
    expect(await store.reserve({ id: randomUUID(), at: T0 + 60_001, limits: [limitOf(key, 3)] })).toEqual({ granted: true })
    expect(await store.reserve({ id: randomUUID(), at: T0 + 60_002, limits: [limitOf(key, 3)] })).toEqual({ granted: false, retryAfterMs: 998 }) // T0 + 1000 leaves at T0 + 61 000
  })

  test('all or nothing across keys: refused by one key, the others record nothing', async () => {
    const [a, b] = [fresh(), fresh()]
    expect(await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(b, 1)] })).toEqual({ granted: true })
    for (let i = 0; i < 3; i++) {
      expect((await store.reserve({ id: randomUUID(), at: T0 + 1, limits: [limitOf(a, 1), limitOf(b, 1)] })).granted).toBe(false)
    }
    expect(await store.reserve({ id: randomUUID(), at: T0 + 2, limits: [limitOf(a, 1)] })).toEqual({ granted: true })
  })

  test('release removes one reservation from the given keys; reset forgets a key', async () => {
    const [a, b] = [fresh(), fresh()]
    const first = randomUUID()
    expect((await store.reserve({ id: first, at: T0, limits: [limitOf(a, 2), limitOf(b, 2)] })).granted).toBe(true)
    expect((await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(a, 2), limitOf(b, 2)] })).granted).toBe(true)
    expect((await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(a, 2)] })).granted).toBe(false)
    await store.release({ id: first, keys: [a] })
    expect((await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(a, 2)] })).granted).toBe(true)
    expect((await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(b, 2)] })).granted).toBe(false)
    await store.reset({ key: b })
    expect((await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(b, 2)] })).granted).toBe(true)
  })

  test('100 concurrent reservations of one key: exactly the limit is granted', async () => {
    const key = fresh()
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.reserve({ id: randomUUID(), at: T0 + i, limits: [limitOf(key, 7), limitOf(fresh(), 100)] })),
    )
    expect(results.filter((r) => r.granted)).toHaveLength(7)
  })
})

describe.each(dialectsUnderTest())('KyselyThrottleStore on %s', (kind) => {
  let t: TestDatabase<any>
  beforeAll(async () => {
    t = await createTestDatabase(kind, { migrations: { migrations: { '0001_throttle_events': throttleEventsMigration() } } })
  })
  afterAll(() => t.destroy())

  test('expired rows of keys nobody tries again are swept', async () => {
    const store = new KyselyThrottleStore({ db: t.db, sweepIntervalMs: 1_000 })
    for (let i = 0; i < 5; i++) await store.reserve({ id: randomUUID(), at: T0, limits: [limitOf(`idle-${i}`, 3, 10_000)] })
    const count = async () => (await t.db.selectFrom(THROTTLE_EVENTS_TABLE).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n
    expect(Number(await count())).toBe(5)
    await store.reserve({ id: randomUUID(), at: T0 + 20_000, limits: [limitOf('active', 3, 10_000)] })
    expect(Number(await count())).toBe(1)
  })
})
