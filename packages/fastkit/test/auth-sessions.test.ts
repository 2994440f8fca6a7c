import { get } from 'node:http'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  AccessTokens,
  CloseCode,
  createDatabase,
  fastkitEvents,
  fastkit,
  fastkitAuth,
  MemoryHub,
  MemoryTransport,
  redactingLogger,
  RefreshTokens,
  refreshTokensMigration,
  resolve,
  fastkitGateway,
  type FastkitAuthOptions,
} from '../src/index.js'
import { KnownUsers, redactUrl, SessionRevocations } from '../src/extend.js'
import { connectWebSocket, createTestDatabase, dialectsUnderTest, type TestDatabase } from '../src/testing/index.js'
import { signJwt, TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, testClaims } from './support/auth-app.js'

describe('SessionRevocations', () => {
  test('refuses an ended session and a user whose every session ended, until their tokens would have expired anyway', () => {
    const clock = { now: 1_000_000 }
    const revocations = new SessionRevocations({ accessTokenTtlSeconds: 60, marginSeconds: 10, now: () => clock.now })
    const heard: unknown[] = []
    revocations.onEnd((end) => heard.push(end))
    revocations.end({ sessionIds: ['s1'], reason: 'logout' })
    revocations.end({ userId: 'gone', reason: 'account-deleted' })
    expect(revocations.isRevoked({ sub: 'u', sid: 's1' })).toBe(true)
    expect(revocations.isRevoked({ sub: 'u', sid: 's2' })).toBe(false)
    expect(revocations.isRevoked({ sub: 'u' })).toBe(false)
    expect(revocations.isRevoked({ sub: 'gone', sid: 'any' })).toBe(true)
    expect(revocations.isRevoked({ sub: 'gone' })).toBe(true)
    expect(heard).toEqual([
      { sessionIds: ['s1'], reason: 'logout', until: 1_000_000 + 70_000 },
      { userId: 'gone', reason: 'account-deleted', until: 1_000_000 + 70_000 },
    ])
    expect(revocations.size).toBe(2)

    clock.now += 69_999
    expect(revocations.isRevoked({ sub: 'u', sid: 's1' })).toBe(true)
    clock.now += 1
    expect(revocations.isRevoked({ sub: 'u', sid: 's1' })).toBe(false)
    revocations.sweep()
    expect(revocations.size).toBe(0)
  })

  test('ignores malformed or already expired ends (what the bus brings is JSON from elsewhere)', () => {
    const revocations = new SessionRevocations({ accessTokenTtlSeconds: 60 })
    for (const end of [null, {}, { sessionIds: 's1', reason: 'x', until: Date.now() + 1000 }, { userId: 5, reason: 'x', until: Date.now() + 1000 }, { sessionIds: ['s1'], reason: 'x', until: Date.now() - 1 }]) {
      revocations.apply(end as never)
    }
    expect(revocations.size).toBe(0)
  })

  test('KnownUsers asks once per user and TTL, shares concurrent lookups, and forgets on demand', async () => {
    const asked: string[] = []
    const clock = { now: 0 }
    const users = new KnownUsers({ exists: async (id) => (asked.push(id), id !== 'gone'), ttlMs: 1000, now: () => clock.now })
    expect(await Promise.all([users.exists('a'), users.exists('a'), users.exists('gone')])).toEqual([true, true, false])
    expect(await users.exists('a')).toBe(true)
    expect(await users.exists('gone')).toBe(false)
    expect(asked).toEqual(['a', 'gone', 'gone'])
    clock.now = 1000
    await users.exists('a')
    users.forget('a')
    await users.exists('a')
    expect(asked).toEqual(['a', 'gone', 'gone', 'a', 'a'])
  })
})

describe('redactUrl', () => {
  test('replaces the values of credential query parameters and keeps the rest', () => {
    expect(redactUrl('/ws?token=abc.def.ghi')).toBe('/ws?token=[redacted]')
    expect(redactUrl('/x?a=1&TOKEN=s&refresh_token=r&access_token=t&b=2&password=p')).toBe(
      '/x?a=1&TOKEN=[redacted]&refresh_token=[redacted]&access_token=[redacted]&b=2&password=[redacted]',
    )
    expect(redactUrl('/x?%74oken=s')).toBe('/x?%74oken=[redacted]')
    expect(redactUrl('/x?tokens=kept&token')).toBe('/x?tokens=kept&token')
    expect(redactUrl('/plain')).toBe('/plain')
  })
})

describe('loading the sessions that ended before the start', () => {
  test('a database that is away does not stop the start; verifications fail closed with 503 until it answers', async () => {
    const db = createDatabase<any>({ url: 'postgres://postgres@127.0.0.1:1/nothing', pool: { connectionTimeoutMs: 500 } })
    const app = Fastify({ logger: false })
    await app.register(fastkit, { db, ownsDatabase: true })
    await app.register(fastkitAuth, { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE })
    app.get('/me', { preHandler: app.authenticate }, async (request) => request.user)
    try {
      await app.ready()
      const token = signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims())
      const res = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } })
      expect(res.statusCode, res.body).toBe(503)
      // A bad token is still a 401 (refused before the sessions matter).
      expect((await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}x` } })).statusCode).toBe(401)
    } finally {
      await app.close()
    }
  })
})

describe.each(dialectsUnderTest())('sessions across apps on %s', (kind) => {
  let t: TestDatabase<any>
  const hub = new MemoryHub()
  const apps: FastifyInstance[] = []
  const lines: string[] = []
  const lookups: string[] = []

  /** An app with auth, a bus on the shared hub (another "process"), login/logout routes and the gateway. */
  async function build(options: { auth?: Partial<FastkitAuthOptions>; logger?: boolean } = {}): Promise<FastifyInstance> {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    // Not redactingLogger: the gateway's own route serializer must keep `?token=` out by itself.
    const app = Fastify({ logger: options.logger ? { level: 'trace', stream } : false })
    await app.register(fastkit, { db: t.db })
    await app.register(fastkitAuth, { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, accessTokenTtlSeconds: 60, ...options.auth })
    await app.register(fastkitEvents, { transport: new MemoryTransport({ hub }) })
    await app.register(fastkitGateway, {})
    app.post<{ Body: { userId: string } }>('/login', async (request) => {
      const refresh = await request.container.resolve(RefreshTokens).issue({ userId: request.body.userId })
      const access = resolve(app.container, AccessTokens)
      return { ...access.issue({ id: refresh.userId, username: 'u' }, { sessionId: refresh.familyId }), refresh_token: refresh.token }
    })
    app.post<{ Body: { refresh_token?: string } }>('/logout', { preHandler: app.authenticate }, async (request, reply) => {
      const tokens = request.container.resolve(RefreshTokens)
      if (request.body?.refresh_token) await tokens.revoke({ token: request.body.refresh_token, userId: request.user.id })
      else await tokens.revokeAllForUser({ userId: request.user.id })
      return reply.code(204).send()
    })
    app.get('/me', { preHandler: app.authenticate }, async (request) => request.user)
    apps.push(app)
    await app.listen({ host: '127.0.0.1', port: 0 })
    return app
  }

  beforeAll(async () => {
    t = await createTestDatabase<any>(kind, { migrations: { migrations: { '0001_refresh_tokens': refreshTokensMigration({ userIdType: 'text' }) } } })
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
    await t?.destroy()
  })

  const base = (app: FastifyInstance) => {
    const address = app.server.address()
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  }
  const login = async (app: FastifyInstance, userId: string) =>
    (await app.inject({ method: 'POST', url: '/login', payload: { userId } })).json<{ access_token: string; refresh_token: string }>()
  const me = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } })

  test('a logout in one app refuses that session’s token in the other at once and closes its sockets there with 4003', async () => {
    const [one, two] = [await build(), await build({ logger: true })]
    const session = await login(one, 'alice')
    const other = await login(one, 'alice')
    expect((await me(two, session.access_token)).statusCode).toBe(200)
    const socket = await connectWebSocket(base(two), { token: session.access_token })
    const kept = await connectWebSocket(base(two), { token: other.access_token, via: 'protocol' })

    const out = await one.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${session.access_token}` }, payload: { refresh_token: session.refresh_token } })
    expect(out.statusCode).toBe(204)
    // In the app that logged out: before the 204 was even sent.
    expect((await me(one, session.access_token)).statusCode).toBe(401)
    expect(await socket.closed).toBe(CloseCode.SESSION_ENDED)
    expect((await me(two, session.access_token)).json()).toMatchObject({ status: 401, detail: 'Session ended' })
    expect((await me(two, other.access_token)).statusCode).toBe(200)
    expect(kept.ws.readyState).toBe(kept.ws.OPEN)
    await kept.close()

    // An app started afterwards loads the ended session from the store.
    const late = await build()
    expect((await me(late, session.access_token)).statusCode).toBe(401)
    expect((await me(late, other.access_token)).statusCode).toBe(200)

    // The gateway's own request serializer kept the token out of the trace log of the plain logger.
    const output = lines.join('')
    expect(output).toContain('/ws?token=[redacted]')
    for (const token of [session.access_token, other.access_token]) expect(output.includes(token.split('.')[2]!)).toBe(false)
  })

  test('a socket is closed with 4001 when its access token expires', async () => {
    const app = await build()
    const now = Math.floor(Date.now() / 1000)
    const token = signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims({ sub: 'bob', iat: now, exp: now + 1 }))
    const socket = await connectWebSocket(base(app), { token })
    expect(await socket.closed).toBe(CloseCode.TOKEN_EXPIRED)
  })

  test('iat more than 30 s ahead is 401; a user that does not exist is 401, asked once per user', async () => {
    const app = await build({ auth: { userExists: async (id) => (lookups.push(id), id !== 'ghost') } })
    const now = Math.floor(Date.now() / 1000)
    expect((await me(app, signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims({ iat: now + 31, exp: now + 300 })))).statusCode).toBe(401)
    expect((await me(app, signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims({ iat: now + 25, exp: now + 300 })))).statusCode).toBe(200)
    const ghost = signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims({ sub: 'ghost' }))
    expect((await me(app, ghost)).statusCode).toBe(401)
    const live = signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims({ sub: 'carol' }))
    for (let i = 0; i < 20; i++) expect((await me(app, live)).statusCode).toBe(200)
    expect(lookups.filter((id) => id === 'carol')).toEqual(['carol'])
  })

  test('a client that hangs up while its user is being confirmed leaves the process running', async () => {
    let release!: (exists: boolean) => void
    const confirmation = new Promise<boolean>((resolve) => (release = resolve))
    let asking!: () => void
    const asked = new Promise<void>((resolve) => (asking = resolve))
    const app = await build({ auth: { userExists: () => (asking(), confirmation) } })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      let closed!: () => void
      const serverSawClose = new Promise<void>((resolve) => (closed = resolve))
      app.server.once('request', (_request, response) => response.once('close', () => closed()))
      const token = signJwt({ alg: 'HS256', typ: 'JWT' }, testClaims({ sub: 'dave' }))
      const request = get(`${base(app)}/me`, { headers: { authorization: `Bearer ${token}` } })
      request.on('error', () => {})
      await asked
      request.destroy()
      // The request's scope ends with its connection (its container is disposed), then the user is confirmed.
      await serverSawClose
      await new Promise((resolve) => setImmediate(resolve))
      release(true)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(unhandled).toEqual([])
      expect((await me(app, token)).statusCode).toBe(200)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  test('redactingLogger keeps headers and credential parameters out of request logs', async () => {
    const captured: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        captured.push(String(chunk))
        done()
      },
    })
    const app = Fastify({ logger: redactingLogger({ level: 'trace', stream }) as never })
    app.get('/echo', async (request) => {
      request.log.info({ headers: request.headers, body: { refresh_token: 'body-secret' } }, 'logged by the app')
      return {}
    })
    await app.ready()
    await app.inject({ method: 'GET', url: '/echo?refresh_token=query-secret&x=1', headers: { authorization: 'Bearer header-secret' } })
    await app.close()
    const output = captured.join('')
    expect(output).toContain('/echo?refresh_token=[redacted]&x=1')
    expect(output).toContain('logged by the app')
    for (const secret of ['query-secret', 'header-secret', 'body-secret']) expect(output).not.toContain(secret)
  })
})
