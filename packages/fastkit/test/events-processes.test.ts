import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { userTopic } from '../src/index.js'
import { createTestDatabase, dialectsUnderTest, testRedisUrl, type TestDatabase } from '../src/testing/index.js'
import { connectClient, receivedBeforeBarrier, type ReceivedEvent, type TestClient } from './support/events-client.js'
import { startEventsServerProcess, type ServerProcess } from './support/events-processes.js'
import { signTestToken } from './support/events-tokens.js'
import { redisUrl, uniqueChannel } from './support/events-transports.js'
import { testMigrations, type TestDB } from './support/schema.js'

/**
 * Two real server processes (tsx child processes running test/fixtures/events-server.ts) and real
 * WebSocket clients: what is posted through one process reaches the clients of the other.
 *
 * LISTEN/NOTIFY needs one PostgreSQL server that both processes share, so the PostgreSQL transport is
 * registered for the postgres dialect only. On PGlite each process has its own embedded database and
 * Redis is what connects them.
 */
describe.each(dialectsUnderTest())('two server processes on %s', (kind) => {
  // Redis runs only with TEST_REDIS_URL: with neither server, this file has nothing to run (said at start).
  const transports = (kind === 'postgres' ? (['postgres', 'redis'] as const) : (['redis'] as const)).filter((t) => t !== 'redis' || testRedisUrl())

  describe.each(transports)('over the %s transport', (transport) => {
    let database: TestDatabase<TestDB> | undefined
    let a: ServerProcess
    let b: ServerProcess
    const clients: TestClient[] = []

    beforeAll(async () => {
      if (kind === 'postgres') database = await createTestDatabase<TestDB>(kind, { migrations: { migrations: testMigrations } })
      const env = {
        DATABASE_URL: database?.url ?? 'memory://',
        TRANSPORT: transport,
        CHANNEL: uniqueChannel(transport === 'postgres' ? 'fastkit_test' : 'fastkit:test'),
        REDIS_URL: redisUrl(),
      }
      ;[a, b] = await Promise.all([startEventsServerProcess(env), startEventsServerProcess(env)])
    }, 120_000)
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()))
    })
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
      await database?.destroy()
    })

    const connect = async (server: ServerProcess, userId: string) => {
      const client = await connectClient(server.baseUrl, { token: signTestToken(userId) })
      clients.push(client)
      return client
    }
    const post = async (server: ServerProcess, body: Record<string, unknown>) => {
      const res = await fetch(`${server.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `item-${randomBytes(6).toString('hex')}`, type: 'item.created', ...body }),
      })
      return { status: res.status, body: (await res.json()) as { id: string; name: string } }
    }
    /**
     * What `clients` (all of `userId`) received before a barrier posted to that user through `via`:
     * one process's events reach a connection in the order that process published them.
     */
    const receivedBefore = (via: ServerProcess, userId: string, ...clients: TestClient[]) =>
      receivedBeforeBarrier(async () => (await post(via, { topics: [userTopic(userId)], type: 'barrier' })).body.id, ...clients)

    test('a client on B receives what was posted through A, exactly once; another user receives nothing', async () => {
      const aliceOnB = await connect(b, 'alice')
      const aliceOnA = await connect(a, 'alice')
      const bobOnB = await connect(b, 'bob')
      const res = await post(a, { topics: [userTopic('alice')] })
      expect(res.status).toBe(201)
      const expected = [{ type: 'item.created', data: res.body }]
      expect(await receivedBefore(a, 'alice', aliceOnB, aliceOnA)).toEqual([expected, expected])
      expect(await receivedBefore(a, 'bob', bobOnB)).toEqual([[]])
    })

    test('a write that rolls back on A sends nothing to B', async () => {
      const aliceOnB = await connect(b, 'alice')
      expect((await post(a, { topics: [userTopic('alice')], fail: true })).status).toBe(409)
      const ok = await post(a, { topics: [userTopic('alice')], data: { after: 'rollback' } })
      expect(ok.status).toBe(201)
      expect(await receivedBefore(a, 'alice', aliceOnB)).toEqual([[{ type: 'item.created', data: { after: 'rollback' } }]])
    })

    test('200 events posted concurrently by 10 publishers through both processes arrive at every client exactly once, in order', async () => {
      const aliceOnA = await connect(a, 'alice')
      const aliceOnB = await connect(b, 'alice')
      const bobOnA = await connect(a, 'bob')
      const publishers = Array.from({ length: 10 }, async (_, p) => {
        const server = p < 5 ? a : b
        for (let n = 0; n < 20; n++) {
          const res = await post(server, { topics: [userTopic('alice')], data: { p, n } })
          expect(res.status).toBe(201)
        }
      })
      await Promise.all(publishers)
      for (const client of [aliceOnA, aliceOnB]) await client.waitUntil((events) => events.length >= 200, 15_000)
      // A barrier from each process: whatever either published has arrived once both barriers have.
      const received: ReceivedEvent[][] = [[], []]
      for (const via of [a, b]) {
        const more = await receivedBefore(via, 'alice', aliceOnA, aliceOnB)
        more.forEach((events, i) => received[i]!.push(...events.filter((e) => e.type !== 'barrier')))
      }
      for (const events of received) {
        expect(events).toHaveLength(200)
        for (let p = 0; p < 10; p++) {
          const sequence = events.filter((e) => e.data.p === p).map((e) => e.data.n)
          expect(sequence).toEqual(Array.from({ length: 20 }, (_, n) => n))
        }
      }
      expect(await receivedBefore(a, 'bob', bobOnA)).toEqual([[]])
    }, 60_000)
  })
})
