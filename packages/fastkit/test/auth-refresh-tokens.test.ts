import type { FastifyInstance } from 'fastify'
import { sql, type Kysely } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { RefreshTokens, refreshTokensMigration, UnitOfWork, type IssuedRefreshToken } from '../src/index.js'
import { hashRefreshToken, KyselyRefreshTokenStore } from '../src/extend.js'
import { createTestDatabase, dialectsUnderTest, type TestDatabase } from '../src/testing/index.js'
import { buildAuthApp } from './support/auth-app.js'

const DAY = 24 * 60 * 60 * 1000

const migrations = {
  '0001_refresh_tokens': refreshTokensMigration({ userIdType: 'text' }),
  '0002_login_events': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('login_events').addColumn('user_id', 'text', (c) => c.notNull()).execute()
    },
  },
}

describe.each(dialectsUnderTest())('refresh tokens on %s', (kind) => {
  let t: TestDatabase<any>
  let app: FastifyInstance
  const clock = { now: new Date('2030-01-01T00:00:00Z') }

  beforeAll(async () => {
    t = await createTestDatabase<any>(kind, { migrations: { migrations } })
    app = await buildAuthApp({
      db: t.db,
      auth: { refreshTokens: { ttlSeconds: 7 * 24 * 60 * 60, now: () => clock.now } },
      routes(app) {
        app.post<{ Body: { userId: string } }>('/login', async (request) => {
          const refresh = await request.container.resolve(RefreshTokens).issue({ userId: request.body.userId })
          return { ...app.issueAccessToken({ id: refresh.userId, username: 'u' }), refresh_token: refresh.token, expiresAt: refresh.expiresAt }
        })
        app.post<{ Body: { refresh_token: string } }>('/refresh', async (request) => {
          const refresh = await request.container.resolve(RefreshTokens).rotate({ token: request.body.refresh_token })
          return { ...app.issueAccessToken({ id: refresh.userId, username: 'u' }), refresh_token: refresh.token, expiresAt: refresh.expiresAt }
        })
        // Writes through the request's unit before rotating: the unit holds a transaction when reuse is detected.
        app.post<{ Body: { refresh_token: string; userId: string } }>('/refresh-after-write', async (request) => {
          await request.uow.db.insertInto('login_events').values({ user_id: request.body.userId }).execute()
          const refresh = await request.container.resolve(RefreshTokens).rotate({ token: request.body.refresh_token })
          return { refresh_token: refresh.token }
        })
        app.post<{ Body: { refresh_token: string } }>('/logout', { preHandler: app.authenticate }, async (request, reply) => {
          await request.container.resolve(RefreshTokens).revoke({ token: request.body.refresh_token, userId: request.user.id })
          return reply.code(204).send()
        })
      },
    })
  })
  afterEach(async () => {
    clock.now = new Date('2030-01-01T00:00:00Z')
    await t.db.deleteFrom('refresh_tokens').execute()
    await t.db.deleteFrom('login_events').execute()
  })
  afterAll(async () => {
    await app?.close()
    await t?.destroy()
  })

  const login = async (userId = 'user-1') => {
    const res = await app.inject({ method: 'POST', url: '/login', payload: { userId } })
    expect(res.statusCode).toBe(200)
    return res.json<{ access_token: string; refresh_token: string; expiresAt: string }>()
  }
  const refresh = (token: string) => app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: token } })
  const rows = () =>
    t.db.selectFrom('refresh_tokens').select(['id', 'family_id', 'parent_id', 'used_at', 'replaced_by', 'revoked_at', 'token_hash']).orderBy('created_at').orderBy('id').execute()

  test('issue: an opaque 32-byte base64url token; only its SHA-256 is stored', async () => {
    const { refresh_token } = await login()
    expect(refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(refresh_token, 'base64url')).toHaveLength(32)
    const [row, ...more] = await rows()
    expect(more).toEqual([])
    expect(row!.token_hash).toBe(hashRefreshToken(refresh_token))
    expect(JSON.stringify(await t.db.selectFrom('refresh_tokens').selectAll().execute())).not.toContain(refresh_token)
  })

  test('rotate: a new token in the same family, with the same absolute expiry; the old one is marked used', async () => {
    const first = await login()
    clock.now = new Date(clock.now.getTime() + DAY)
    const res = await refresh(first.refresh_token)
    expect(res.statusCode).toBe(200)
    const second = res.json<{ refresh_token: string; expiresAt: string; token_type: string }>()
    expect(second.token_type).toBe('bearer')
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.expiresAt).toBe(first.expiresAt)
    const [old, current] = await rows()
    expect(current!.family_id).toBe(old!.family_id)
    expect(current!.parent_id).toBe(old!.id)
    expect(old!.used_at).not.toBeNull()
    expect(old!.replaced_by).toBe(current!.id)
    expect(current!.used_at).toBeNull()
    expect((await refresh(second.refresh_token)).statusCode).toBe(200)
  })

  test('reuse of a rotated token is 401 and revokes the whole family, durably, although the request rolled back', async () => {
    const first = await login()
    const second = (await refresh(first.refresh_token)).json<{ refresh_token: string }>()
    const other = await login() // another login of the same user: not affected

    const reuse = await refresh(first.refresh_token)
    expect(reuse.statusCode).toBe(401)
    expect(reuse.headers['www-authenticate']).toBe('Bearer')
    expect(reuse.json()).toMatchObject({ code: 'UNAUTHORIZED', detail: 'Invalid refresh token' })

    const family = (await rows()).filter((r) => r.token_hash !== hashRefreshToken(other.refresh_token))
    expect(family).toHaveLength(2)
    for (const row of family) expect(row.revoked_at).not.toBeNull()
    const descendant = await refresh(second.refresh_token)
    expect(descendant.statusCode).toBe(401)
    expect(descendant.json().detail).toBe('Invalid refresh token')
    expect((await refresh(other.refresh_token)).statusCode).toBe(200)
  })

  test('reuse detected while the request already holds a transaction: still revoked, the request\'s own write rolled back, no deadlock', async () => {
    const first = await login()
    const second = (await refresh(first.refresh_token)).json<{ refresh_token: string }>()
    const res = await app.inject({ method: 'POST', url: '/refresh-after-write', payload: { refresh_token: first.refresh_token, userId: 'user-1' } })
    expect(res.statusCode).toBe(401)
    expect(await t.db.selectFrom('login_events').selectAll().execute()).toEqual([])
    for (const row of await rows()) expect(row.revoked_at).not.toBeNull()
    expect((await refresh(second.refresh_token)).statusCode).toBe(401)
  })

  test('two concurrent rotations of one token: one wins, the other counts as reuse and revokes the family', async () => {
    const first = await login()
    const results = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token)])
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401])
    const winner = results.find((r) => r.statusCode === 200)!.json<{ refresh_token: string }>()
    expect((await refresh(winner.refresh_token)).statusCode).toBe(401)
    for (const row of await rows()) expect(row.revoked_at).not.toBeNull()
  })

  test('a refresh token expires at its absolute expiry, however often it was rotated', async () => {
    let { refresh_token } = await login()
    for (let day = 1; day <= 6; day++) {
      clock.now = new Date(new Date('2030-01-01T00:00:00Z').getTime() + day * DAY)
      const res = await refresh(refresh_token)
      expect(res.statusCode).toBe(200)
      refresh_token = res.json().refresh_token
    }
    clock.now = new Date(new Date('2030-01-01T00:00:00Z').getTime() + 7 * DAY)
    const expired = await refresh(refresh_token)
    expect(expired.statusCode).toBe(401)
    expect(expired.json().detail).toBe('Invalid refresh token')
    // Expiry is not reuse: nothing was revoked.
    for (const row of await rows()) expect(row.revoked_at).toBeNull()
  })

  test('unknown, malformed and empty tokens are 401 with the same body', async () => {
    await login()
    const bodies = new Set<string>()
    for (const token of ['A'.repeat(43), 'short', '', 'x'.repeat(5000), '../../etc/passwd']) {
      const res = await refresh(token)
      expect(res.statusCode).toBe(401)
      bodies.add(res.body)
    }
    expect(bodies.size).toBe(1)
  })

  test('logout revokes that login\'s tokens only; the token of another user is left alone', async () => {
    const mine = await login('user-1')
    const rotated = (await refresh(mine.refresh_token)).json<{ access_token: string; refresh_token: string }>()
    const otherLogin = await login('user-1')
    const someoneElse = await login('user-2')

    const foreign = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { authorization: `Bearer ${rotated.access_token}` },
      payload: { refresh_token: someoneElse.refresh_token },
    })
    expect(foreign.statusCode).toBe(204)
    expect((await refresh(someoneElse.refresh_token)).statusCode).toBe(200)

    const res = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { authorization: `Bearer ${rotated.access_token}` },
      payload: { refresh_token: rotated.refresh_token },
    })
    expect(res.statusCode).toBe(204)
    expect((await refresh(rotated.refresh_token)).statusCode).toBe(401)
    expect((await refresh(otherLogin.refresh_token)).statusCode).toBe(200)
  })

  test('revokeAllForUser and purgeExpired, outside HTTP in a unit of work', async () => {
    const config = { ttlSeconds: 60, now: () => clock.now }
    const store = new KyselyRefreshTokenStore()
    const issued: IssuedRefreshToken[] = await UnitOfWork.run(t.db, (uow) => {
      const tokens = new RefreshTokens(uow, t.db, store, config)
      return Promise.all([tokens.issue({ userId: 'a' }), tokens.issue({ userId: 'a' }), tokens.issue({ userId: 'b' })])
    })
    expect(issued[0]!.expiresIn).toBe(60)
    const revoked = await UnitOfWork.run(t.db, (uow) => new RefreshTokens(uow, t.db, store, config).revokeAllForUser({ userId: 'a' }))
    expect(revoked).toBe(2)
    clock.now = new Date(clock.now.getTime() + 61_000)
    const purged = await UnitOfWork.run(t.db, (uow) => new RefreshTokens(uow, t.db, store, config).purgeExpired())
    expect(purged).toBe(3)
    expect(await rows()).toEqual([])
  })

  test('the migration creates a unique index on token_hash', async () => {
    const { refresh_token } = await login()
    const row = await t.db.selectFrom('refresh_tokens').selectAll().executeTakeFirstOrThrow()
    await expect(
      t.db.insertInto('refresh_tokens').values({ ...row, id: crypto.randomUUID() }).execute(),
    ).rejects.toMatchObject({ code: '23505' })
    expect(row.token_hash).toBe(hashRefreshToken(refresh_token))
    const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'refresh_tokens'`.execute(t.db)
    expect(indexes.rows.map((r) => r.indexname)).toEqual(
      expect.arrayContaining(['refresh_tokens_family_id_idx', 'refresh_tokens_user_id_idx']),
    )
  })
})
