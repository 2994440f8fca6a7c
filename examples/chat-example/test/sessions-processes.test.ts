import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, test } from 'vitest'
import { CloseCode } from 'fastkit'
import { dialectsUnderTest, testRedisUrl } from 'fastkit/testing'
import { call, ok } from './support/realtime-app.js'
import { connect, within, type RealtimeClient } from './support/realtime-client.js'
import { useChatProcesses } from './support/realtime-processes.js'

const REDIS_URL = testRedisUrl()

const transports: (readonly [string, Record<string, string>])[] = [
  ['PostgreSQL LISTEN/NOTIFY', {}],
  ...(REDIS_URL ? [['Redis pub/sub', { REDIS_URL }] as const] : []),
]

interface Session {
  readonly id: string
  readonly username: string
  readonly password: string
  readonly access: string
  readonly refresh: string
}

/** `request()` until it answers `status`, for at most `ms`; returns how long that took. */
async function answersWithin(ms: number, status: number, request: () => Promise<{ status: number }>): Promise<number> {
  const started = Date.now()
  for (;;) {
    const res = await request()
    if (res.status === status) return Date.now() - started
    if (Date.now() - started > ms) throw new Error(`still ${res.status} after ${ms} ms (expected ${status})`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// Real processes share a PostgreSQL server (PGlite belongs to one process): registered only when
// PostgreSQL is under test, never skipped.
if (dialectsUnderTest().includes('postgres')) {
  describe.each(transports)('sessions end in every chat process, carried by %s', (_transport, env) => {
    const chat = useChatProcesses(env)
    const sockets: RealtimeClient[] = []
    afterAll(async () => {
      for (const socket of sockets) await socket.close()
    })

    async function session(baseUrl: string, name: string): Promise<Session> {
      const username = `${name}_${randomBytes(4).toString('hex')}`
      const password = 'correct horse battery staple'
      const user = await ok<{ id: string }>(201, baseUrl, 'POST', '/auth/register', { body: { username, password } })
      const tokens = await ok<{ access_token: string; refresh_token: string }>(200, baseUrl, 'POST', '/auth/login', { body: { username, password } })
      return { id: user.id, username, password, access: tokens.access_token, refresh: tokens.refresh_token }
    }
    async function socket(baseUrl: string, token: string): Promise<RealtimeClient> {
      const client = await connect(baseUrl, { token })
      sockets.push(client)
      return client
    }
    const me = (baseUrl: string, token: string) => call(baseUrl, 'GET', '/auth/me', { token })

    test('a logout through A refuses the token on B within a second and closes its socket on B with 4003', async () => {
      const u = await session(chat.a.baseUrl, 'out')
      const other = await session(chat.a.baseUrl, 'stays')
      expect((await me(chat.b.baseUrl, u.access)).status).toBe(200)
      const onB = await socket(chat.b.baseUrl, u.access)
      const otherOnB = await socket(chat.b.baseUrl, other.access)

      await ok(204, chat.a.baseUrl, 'POST', '/auth/logout', { token: u.access, body: { refresh_token: u.refresh } })
      expect(await within(onB.closed, 1_000, 'the socket on B closing')).toBe(CloseCode.SESSION_ENDED)
      expect(await answersWithin(1_000, 401, () => me(chat.b.baseUrl, u.access))).toBeLessThan(1_000)
      expect((await me(chat.b.baseUrl, other.access)).status).toBe(200)
      expect(otherOnB.ws.readyState).toBe(otherOnB.ws.OPEN)
    })

    test('refresh-token reuse detected on B ends the session on A', async () => {
      const u = await session(chat.a.baseUrl, 'reuse')
      const onA = await socket(chat.a.baseUrl, u.access)
      await ok(200, chat.b.baseUrl, 'POST', '/auth/refresh', { body: { refresh_token: u.refresh } })
      expect((await call(chat.b.baseUrl, 'POST', '/auth/refresh', { body: { refresh_token: u.refresh } })).status).toBe(401)
      expect(await within(onA.closed, 1_000, 'the socket on A closing')).toBe(CloseCode.SESSION_ENDED)
      expect(await answersWithin(1_000, 401, () => me(chat.a.baseUrl, u.access))).toBeLessThan(1_000)
    })

    test('an account deleted through A: its tokens get 401 on B and its sockets on B close with 4003', async () => {
      const u = await session(chat.a.baseUrl, 'del')
      const onB = await socket(chat.b.baseUrl, u.access)
      expect((await call(chat.b.baseUrl, 'GET', '/chats', { token: u.access })).status).toBe(200)
      await ok(204, chat.a.baseUrl, 'DELETE', '/auth/me', { token: u.access, body: { password: u.password } })
      expect(await within(onB.closed, 1_000, 'the deleted user’s socket on B closing')).toBe(CloseCode.SESSION_ENDED)
      expect(await answersWithin(1_000, 401, () => call(chat.b.baseUrl, 'GET', '/chats', { token: u.access }))).toBeLessThan(1_000)
      expect((await call(chat.b.baseUrl, 'POST', '/chats', { token: u.access, body: { name: 'after deletion' } })).status).toBe(401)
    })

    test('a process started after a logout refuses that login’s token from its first request', async () => {
      const u = await session(chat.a.baseUrl, 'late')
      await ok(204, chat.a.baseUrl, 'POST', '/auth/logout', { token: u.access, body: { refresh_token: u.refresh } })
      const still = await session(chat.a.baseUrl, 'live')
      const c = await chat.start()
      expect((await me(c.baseUrl, u.access)).status).toBe(401)
      expect((await me(c.baseUrl, still.access)).status).toBe(200)
    }, 90_000)
  })
}
