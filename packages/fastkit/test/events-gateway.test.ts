import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { UnauthorizedError, userTopic } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { ALLOWED_ORIGIN, buildEventsApp } from './support/events-app.js'
import { connectClient, receivedBeforeBarrier, refusedUpgrade, type TestClient } from './support/events-client.js'
import { signTestToken } from './support/events-tokens.js'

/** The WebSocket gateway over real sockets: the app listens on 127.0.0.1, clients are `ws` clients. */
describe.each(dialectsUnderTest())('WebSocket gateway on %s', (kind) => {
  const t = useTestDatabase(kind)
  let app: FastifyInstance
  let base: string
  const clients: TestClient[] = []

  const connect = async (userId: string, options: Parameters<typeof connectClient>[1] = {}) => {
    const client = await connectClient(base, { token: signTestToken(userId), ...options })
    clients.push(client)
    return client
  }
  const post = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/items', payload })
  /** What `clients` (all of `userId`) received before a barrier posted to that user now. */
  const receivedBefore = (userId: string, ...clients: TestClient[]) =>
    receivedBeforeBarrier(async () => {
      const res = await post({ name: `barrier ${++barriers}`, topics: [userTopic(userId)], type: 'barrier' })
      expect(res.statusCode, res.body).toBe(201)
      return res.json().id
    }, ...clients)
  let barriers = 0

  beforeAll(async () => {
    app = await buildEventsApp({ db: t.db, gateway: { heartbeatIntervalMs: 200, maxBufferedBytes: 256 * 1024 } })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await vi.waitFor(() => expect(app.gateway.connectionCount).toBe(0))
  })
  afterAll(() => app.close())

  describe('delivery', () => {
    test('every connection of the addressed user receives the event; another user receives nothing', async () => {
      const alice = await connect('alice')
      const alicePhone = await connect('alice', { via: 'protocol' })
      const bob = await connect('bob')
      const res = await post({ name: 'hello', topics: [userTopic('alice')], type: 'item.created' })
      expect(res.statusCode).toBe(201)
      const expected = [{ type: 'item.created', data: { id: res.json().id, name: 'hello' } }]
      expect(await receivedBefore('alice', alice, alicePhone)).toEqual([expected, expected])
      expect(await receivedBefore('bob', bob)).toEqual([[]])
    })

    test('an event addressed to several users reaches each of them once', async () => {
      const alice = await connect('alice')
      const bob = await connect('bob')
      const carol = await connect('carol')
      await post({ name: 'to-two', topics: [userTopic('alice'), userTopic('bob')], type: 'chat.updated', data: { n: 1 } })
      expect(await receivedBefore('alice', alice)).toEqual([[{ type: 'chat.updated', data: { n: 1 } }]])
      expect(await receivedBefore('bob', bob)).toEqual([[{ type: 'chat.updated', data: { n: 1 } }]])
      expect(await receivedBefore('carol', carol)).toEqual([[]])
    })

    test('a burst of events published at once reaches every connection in publish order, each event once', async () => {
      const alice = await connect('alice')
      const bob = await connect('bob')
      const burst = [...Array(40).keys()].map((n) => ({ topics: n % 4 === 0 ? [userTopic('bob')] : [userTopic('alice'), userTopic('bob')], type: 'item.n', data: { n } }))
      // One synchronous loop: the gateway sends each connection its share of the burst together.
      for (const event of burst) void app.events.publish(event)
      // Each barrier follows the burst on the same ordered path: what arrived before it is all there is.
      expect(await receivedBefore('alice', alice)).toEqual([burst.filter((e) => e.topics.length === 2).map(({ type, data }) => ({ type, data }))])
      expect(await receivedBefore('bob', bob)).toEqual([burst.map(({ type, data }) => ({ type, data }))])
    })

    test("a user's topic is subscribed on the bus while one of its connections is open, and only then", async () => {
      const before = app.events.topicCount
      const alice = await connect('alice')
      const alicePhone = await connect('alice')
      const bob = await connect('bob')
      expect(app.events.topicCount).toBe(before + 2)
      await alice.close()
      await vi.waitFor(() => expect(app.gateway.connectionCount).toBe(2))
      expect(app.events.topicCount).toBe(before + 2)
      await alicePhone.close()
      await vi.waitFor(() => expect(app.events.topicCount).toBe(before + 1))
      void app.events.publish({ topics: [userTopic('bob')], type: 'item.after', data: {} })
      await bob.waitUntil((events) => events.length === 1)
      expect(bob.events).toEqual([{ type: 'item.after', data: {} }])
    })

    test('a write that rolls back sends nothing', async () => {
      const alice = await connect('alice')
      const failed = await post({ name: 'doomed', topics: [userTopic('alice')], type: 'item.created', fail: true })
      expect(failed.statusCode).toBe(409)
      const ok = await post({ name: 'kept', topics: [userTopic('alice')], type: 'item.created' })
      expect(ok.statusCode).toBe(201)
      expect(await receivedBefore('alice', alice)).toEqual([[{ type: 'item.created', data: { id: ok.json().id, name: 'kept' } }]])
    })
  })

  describe('admission', () => {
    test('a missing, badly signed or expired token is refused with 401 before the upgrade', async () => {
      const good = signTestToken('alice')
      const forged = good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
      for (const options of [
        {},
        { token: '' },
        { token: 'not-a-token' },
        { token: forged },
        { token: signTestToken('alice', { expiresInMs: -1_000 }) },
        { token: signTestToken('alice', { expiresInMs: -1_000 }), via: 'protocol' as const },
      ]) {
        const refused = await refusedUpgrade(base, options)
        expect(refused.status, JSON.stringify(options)).toBe(401)
        expect(refused.contentType).toMatch(/application\/problem\+json/)
        expect(JSON.parse(refused.body)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' })
      }
      expect(app.gateway.connectionCount).toBe(0)
    })

    test('an authenticate hook that throws (as app.verifyAccessToken does) refuses with 401 too', async () => {
      const strict = await buildEventsApp({
        db: t.db,
        gateway: {
          authenticate: async (token) => {
            if (token === 'expired') throw new UnauthorizedError('Access token expired')
            throw new Error('jwt malformed')
          },
        },
      })
      const strictBase = await strict.listen({ host: '127.0.0.1', port: 0 })
      try {
        const expired = await refusedUpgrade(strictBase, { token: 'expired' })
        expect(expired.status).toBe(401)
        expect(JSON.parse(expired.body)).toMatchObject({ code: 'UNAUTHORIZED', detail: 'Access token expired' })
        expect((await refusedUpgrade(strictBase, { token: 'garbage', via: 'protocol' })).status).toBe(401)
      } finally {
        await strict.close()
      }
    })

    test('the token may come as the `bearer` subprotocol pair; the server answers `bearer`, never the token', async () => {
      const client = await connect('alice', { via: 'protocol' })
      expect(client.ws.protocol).toBe('bearer')
    })

    test('a browser Origin outside the allow-list is refused with 403; listed and same-origin ones are let in', async () => {
      const refused = await refusedUpgrade(base, { token: signTestToken('alice'), origin: 'https://evil.example' })
      expect(refused.status).toBe(403)
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'FORBIDDEN' })
      await connect('alice', { origin: ALLOWED_ORIGIN })
      await connect('alice', { origin: base })
      expect(app.gateway.connectionCount).toBe(2)
    })

    test('a plain HTTP GET of the WebSocket route gets 426', async () => {
      const res = await app.inject({ method: 'GET', url: '/ws' })
      expect(res.statusCode).toBe(426)
      expect(res.json()).toMatchObject({ code: 'UPGRADE_REQUIRED' })
    })
  })

  describe('connection health', () => {
    test('a {"type":"ping"} message is answered with {"type":"pong"}; anything else with an error frame', async () => {
      const client = await connect('alice')
      client.ws.send(JSON.stringify({ type: 'ping' }))
      await client.waitUntil((events) => events.length === 1)
      client.ws.send('subscribe me to everything')
      await client.waitUntil((events) => events.length === 2)
      expect(client.events[0]).toEqual({ type: 'pong' })
      expect(client.events[1]).toMatchObject({ type: 'error', data: { code: 'UNSUPPORTED_MESSAGE' } })
    })

    test('a client that stops answering pings is dropped by the heartbeat; a live one stays', async () => {
      const dead = await connect('alice', { autoPong: false })
      const live = await connect('bob')
      const code = await Promise.race([dead.closed, new Promise((resolve) => setTimeout(() => resolve('still open after 2 s'), 2_000))])
      expect(code).toBe(1006)
      expect(live.ws.readyState).toBe(live.ws.OPEN)
      await vi.waitFor(() => expect(app.gateway.connectionCount).toBe(1))
    })

    test('a client that stops reading is disconnected, while another keeps receiving promptly', async () => {
      const slow = await connect('slow')
      const fast = await connect('fast')
      slow.ws.pause()
      const pad = 'x'.repeat(64 * 1024)
      let sent = 0
      // Publish until the gateway gives up on the slow reader (its send buffer passed 256 KiB once the
      // kernel's socket buffers filled up).
      while (app.gateway.connectionCount === 2 && sent < 3_000) {
        await app.events.publish({ topics: [userTopic('slow'), userTopic('fast')], type: 'bulk', data: { n: sent, pad } })
        sent++
        await new Promise((resolve) => setImmediate(resolve))
      }
      expect(app.gateway.connectionCount).toBe(1)
      // More than the 256 KiB limit alone would allow: it is the backlog after the kernel's buffers
      // filled up that counts, not a burst.
      expect(sent).toBeGreaterThan(4)
      const started = Date.now()
      await fast.waitUntil((events) => events.length === sent, 3_000)
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(fast.events.map((e) => e.data.n)).toEqual(Array.from({ length: sent }, (_, n) => n))
      slow.ws.resume()
      expect(await slow.closed).toBe(1006)
    })
  })

  test('app.close() closes every connection with 1001 and finishes promptly', async () => {
    const other = await buildEventsApp({ db: t.db })
    const otherBase = await other.listen({ host: '127.0.0.1', port: 0 })
    const a = await connectClient(otherBase, { token: signTestToken('alice') })
    const b = await connectClient(otherBase, { token: signTestToken('bob') })
    const started = Date.now()
    await other.close()
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(await a.closed).toBe(1001)
    expect(await b.closed).toBe(1001)
  })
})
