import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import WebSocket, { WebSocketServer } from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import {
  backoffDelay,
  connectLive,
  type LiveConnection,
  type LiveConnectionOptions,
  type LiveEvent,
  type LiveStatus,
  type TokenRequest,
  type WebSocketConstructorLike,
} from '../src/client/index.js'
import { userTopic } from '../src/index.js'
import { createInbox, dialectsUnderTest, expectNothingWithin } from '../src/testing/index.js'
import { buildEventsApp } from './support/events-app.js'
import { signTestToken } from './support/events-tokens.js'
import { useTestDatabase } from './support/harness.js'

/** `fastkit/client`'s live connection against a real gateway on 127.0.0.1, with `ws` as its WebSocket. */
describe.each(dialectsUnderTest())('fastkit/client connectLive on %s', (kind) => {
  const t = useTestDatabase(kind)
  let app: FastifyInstance
  let base: string
  const upgradeUrls: string[] = []
  const connections: LiveConnection[] = []

  beforeAll(async () => {
    app = await buildEventsApp({ db: t.db })
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/ws')) upgradeUrls.push(request.url)
    })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.close()
    await vi.waitFor(() => expect(app.gateway.connectionCount).toBe(0))
    upgradeUrls.length = 0
  })
  afterAll(() => app.close())

  /** A live connection for `userId` that records what it is told; fast backoff. */
  function live(userId: string, overrides: Partial<LiveConnectionOptions> = {}) {
    const inbox = createInbox<LiveEvent>()
    const statusInbox = createInbox<LiveStatus>()
    const tokenRequests: TokenRequest[] = []
    const catchUps: boolean[] = []
    const connection = connectLive({
      url: `${base}/ws`,
      WebSocket: WebSocket as unknown as WebSocketConstructorLike,
      backoff: { initialMs: 20, maxMs: 100 },
      token: (request) => {
        tokenRequests.push(request)
        return signTestToken(userId)
      },
      catchUp: ({ reconnect }) => {
        catchUps.push(reconnect)
      },
      onEvent: inbox.push,
      onStatus: statusInbox.push,
      ...overrides,
    })
    connections.push(connection)
    return { connection, inbox, events: inbox.events, statusInbox, statuses: statusInbox.events, tokenRequests, catchUps }
  }

  let published = 0
  const publish = async (userId: string, data: Record<string, unknown>, type = 'item.created') => {
    const res = await app.inject({ method: 'POST', url: '/items', payload: { name: `item ${++published}`, topics: [userTopic(userId)], type, data } })
    expect(res.statusCode, res.body).toBe(201)
  }

  test('opens with the bearer subprotocol (no token in the URL), catches up once, then delivers live events', async () => {
    const alice = live('alice')
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    expect(alice.statuses).toEqual(['syncing', 'open'])
    expect(alice.catchUps).toEqual([false])
    expect(upgradeUrls).toEqual(['/ws'])
    await publish('alice', { id: 'm1', text: 'hi' })
    await vi.waitFor(() => expect(alice.events).toEqual([{ type: 'item.created', data: { id: 'm1', text: 'hi' } }]))
  })

  test('after a drop it reconnects, calls catchUp with reconnect: true, and never hands on an event twice', async () => {
    let missed: LiveEvent[] = []
    const alice = live('alice', { catchUp: ({ reconnect }) => (reconnect ? missed : []) })
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    await publish('alice', { id: 'm1' })
    await vi.waitFor(() => expect(alice.events).toHaveLength(1))
    // The catch-up returns m1 again (already seen live) and m2 (missed while away).
    missed = [
      { type: 'item.created', data: { id: 'm1' } },
      { type: 'item.created', data: { id: 'm2' } },
    ]
    expect(app.gateway.disconnectUser('alice', 1001)).toBe(1)
    await vi.waitFor(() => expect(alice.statuses.filter((s) => s === 'open')).toHaveLength(2))
    expect(alice.statuses).toEqual(['syncing', 'open', 'offline', 'connecting', 'syncing', 'open'])
    await publish('alice', { id: 'm3' })
    // A barrier event after m3: nothing handed on twice can still be on its way.
    await publish('alice', { id: 'barrier' }, 'barrier')
    await alice.inbox.waitUntil((events) => events.some((e) => e.type === 'barrier'))
    expect(alice.events.map((e) => e.data.id)).toEqual(['m1', 'm2', 'm3', 'barrier'])
  })

  test('live events that arrive during the catch-up wait behind its results, without duplicates', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const alice = live('alice', {
      catchUp: async () => {
        await gate
        return [
          { type: 'item.created', data: { id: 'old' } },
          { type: 'item.created', data: { id: 'during' } },
        ]
      },
    })
    await vi.waitFor(() => expect(alice.connection.status).toBe('syncing'))
    await publish('alice', { id: 'during' })
    await publish('alice', { id: 'after' })
    // Held until the catch-up is done: no barrier could get past it either, so a bounded wait.
    await expectNothingWithin(alice.inbox, 150)
    release()
    await vi.waitFor(() => expect(alice.events.map((e) => e.data.id)).toEqual(['old', 'during', 'after']))
  })

  test('an edit is a new event (updatedAt is part of the key)', async () => {
    const alice = live('alice')
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    await publish('alice', { id: 'm1', updatedAt: '2026-01-01T00:00:00.000Z' }, 'message.updated')
    await publish('alice', { id: 'm1', updatedAt: '2026-01-01T00:00:01.000Z' }, 'message.updated')
    await vi.waitFor(() => expect(alice.events).toHaveLength(2))
  })

  test('a close code in refreshOn makes the next connection ask for a fresh token', async () => {
    const alice = live('alice', { refreshOn: [4001] })
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    app.gateway.disconnectUser('alice', 4001, 'Token expired')
    await vi.waitFor(() => expect(alice.statuses.filter((s) => s === 'open')).toHaveLength(2))
    expect(alice.tokenRequests).toEqual([{ refresh: false }, { refresh: true }])
  })

  test('a refused upgrade (expired token) is retried with a fresh token', async () => {
    const tokens: TokenRequest[] = []
    const alice = live('alice', {
      token: (request) => {
        tokens.push(request)
        return request.refresh ? signTestToken('alice') : signTestToken('alice', { expiresInMs: -1000 })
      },
    })
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    expect(tokens).toEqual([{ refresh: false }, { refresh: true }])
    expect(alice.statuses).toEqual(['offline', 'connecting', 'syncing', 'open'])
  })

  test('a close code in endOn stops for good and calls onEnded', async () => {
    const ended: number[] = []
    const alice = live('alice', { endOn: [4003], onEnded: (code) => ended.push(code) })
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    app.gateway.disconnectUser('alice', 4003, 'Session ended')
    await vi.waitFor(() => expect(ended).toEqual([4003]))
    // No retry (its backoff is at most 100 ms): the status stays 'closed'. Absence, hence a bounded wait.
    await expectNothingWithin(alice.statusInbox, 300)
    expect(alice.connection.status).toBe('closed')
    expect(app.gateway.connectionCount).toBe(0)
    expect(alice.tokenRequests).toHaveLength(1)
  })

  test('close() closes the socket and cancels retries; a null token stops too', async () => {
    const alice = live('alice')
    await vi.waitFor(() => expect(app.gateway.connectionCount).toBe(1))
    alice.connection.close()
    await vi.waitFor(() => expect(app.gateway.connectionCount).toBe(0))
    // No retry (its backoff is at most 100 ms) changes the status. Absence, hence a bounded wait.
    await expectNothingWithin(alice.statusInbox, 300)
    expect(alice.connection.status).toBe('closed')
    expect(alice.tokenRequests).toHaveLength(1)

    const loggedOut = live('bob', { token: () => null })
    await vi.waitFor(() => expect(loggedOut.connection.status).toBe('closed'))
    expect(upgradeUrls).toEqual(['/ws'])
  })

  test('a failed catch-up drops the connection and tries again, so nothing after a gap is shown', async () => {
    let calls = 0
    const alice = live('alice', {
      catchUp: () => {
        calls++
        if (calls === 1) throw new Error('network')
        return [{ type: 'item.created', data: { id: 'm1' } }]
      },
    })
    await vi.waitFor(() => expect(alice.connection.status).toBe('open'))
    expect(calls).toBe(2)
    expect(alice.events.map((e) => e.data.id)).toEqual(['m1'])
  })

  test('a connection that stops answering pings is dropped and reopened', async () => {
    // A "server" that accepts the upgrade and then never says anything: a dead link.
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'bearer' })
    await new Promise((resolve) => silent.once('listening', resolve))
    const port = (silent.address() as { port: number }).port
    let accepted = 0
    silent.on('connection', () => accepted++)
    try {
      const alice = live('alice', { url: `ws://127.0.0.1:${port}/ws`, pingIntervalMs: 50, pongTimeoutMs: 50 })
      await vi.waitFor(() => expect(accepted).toBeGreaterThanOrEqual(2))
      alice.connection.close()
    } finally {
      for (const client of silent.clients) client.terminate()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})

describe('fastkit/client', () => {
  test('backoff grows exponentially up to the cap, with jitter between half and the full step', () => {
    const low = () => 0
    const high = () => 1
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { initialMs: 100, maxMs: 500 }, high))).toEqual([100, 200, 400, 500])
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { initialMs: 100, maxMs: 500 }, low))).toEqual([50, 100, 200, 250])
  })

  test('is browser-safe: no Node built-ins and nothing outside src/client', async () => {
    const folder = path.join(import.meta.dirname, '../src/client')
    for (const file of await fs.readdir(folder)) {
      const source = await fs.readFile(path.join(folder, file), 'utf8')
      const imports = [...source.matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gm)].map((m) => m[1]!)
      expect(imports.filter((i) => !i.startsWith('./')), file).toEqual([])
    }
  })
})
