import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { sql } from 'kysely'
import { LoginThrottle } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import { captureLog, claimsFor, expectProblem, signJwt, uniqueName, useChatApp, type TestUser } from './support/chat-app.js'

describe.each(dialectsUnderTest())('auth over HTTP on %s', (kind) => {
  const t = useChatApp(kind)

  const register = (payload: unknown) => t.inject({ method: 'POST', url: '/auth/register', payload: payload as object })
  const login = (username: string, password: string) => t.inject({ method: 'POST', url: '/auth/login', payload: { username, password } })
  const refresh = (token: string) => t.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } })
  const me = (authorization?: string) => t.inject({ method: 'GET', url: '/auth/me', headers: authorization ? { authorization } : {} })

  test('register → login (JSON) → me → protected', async () => {
    const username = uniqueName('Reg')
    const registered = await register({ username, password: 'correct horse battery' })
    expect(registered.statusCode).toBe(201)
    const user = registered.json()
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'id', 'username'])
    expect(user.username).toBe(username)
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt)

    const res = await login(username, 'correct horse battery')
    expect(res.statusCode).toBe(200)
    const tokens = res.json()
    expect(Object.keys(tokens).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 900 })

    const profile = await me(`Bearer ${tokens.access_token}`)
    expect(profile.statusCode).toBe(200)
    expect(profile.json()).toEqual(user)

    const claims = await t.inject({ method: 'POST', url: '/auth/protected', headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(claims.statusCode).toBe(200)
    expect(claims.json()).toMatchObject({ sub: user.id, username, iss: 'chat-example', aud: 'chat-example-api' })
    expect(claims.json().exp - claims.json().iat).toBe(900)
  })

  test('login takes the OAuth2 password flow form, with or without grant_type', async () => {
    const u = await t.user('form')
    for (const form of [
      `grant_type=password&username=${u.username}&password=${u.password}&scope=`,
      `username=${encodeURIComponent(u.username.toUpperCase())}&password=${u.password}`,
    ]) {
      const res = await t.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form,
      })
      expect(res.statusCode, res.body).toBe(200)
      expect((await me(`Bearer ${res.json().access_token}`)).json().id).toBe(u.id)
    }
    const other = await t.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&username=${u.username}&password=${u.password}`,
    })
    expectProblem(other, 400, 'VALIDATION_FAILED')
  })

  test('refresh rotates the token; the old one is refused, and reusing it revokes the whole login', async () => {
    const u = await t.user('rot')
    const first = await refresh(u.refreshToken)
    expect(first.statusCode).toBe(200)
    const r1 = first.json()
    expect(r1).toMatchObject({ token_type: 'bearer', expires_in: 900 })
    expect(r1.refresh_token).not.toBe(u.refreshToken)
    expect((await me(`Bearer ${r1.access_token}`)).json().id).toBe(u.id)

    // A second login is a separate family: it must survive the first one's revocation.
    const other = (await login(u.username, u.password)).json()

    const reused = await refresh(u.refreshToken)
    expectProblem(reused, 401, 'UNAUTHORIZED')
    // The reuse revoked the family: the newest token of that login stops working too.
    expectProblem(await refresh(r1.refresh_token), 401, 'UNAUTHORIZED')
    expect((await refresh(other.refresh_token)).statusCode).toBe(200)
    // Garbage gets the same answer as a revoked token.
    expect((await refresh('not-a-token')).json()).toEqual(reused.json())
  })

  test('logout with a refresh token ends that login; without one, every login of the user', async () => {
    const u = await t.user('out')
    const second = (await login(u.username, u.password)).json()
    const third = (await login(u.username, u.password)).json()

    const one = await t.inject({ method: 'POST', url: '/auth/logout', headers: u.headers, payload: { refresh_token: u.refreshToken } })
    expect(one.statusCode).toBe(204)
    expect(one.body).toBe('')
    expectProblem(await refresh(u.refreshToken), 401)
    const rotated = await refresh(second.refresh_token)
    expect(rotated.statusCode).toBe(200)

    // u.headers belong to the login that just ended (its access token is refused now): use the live one.
    const all = await t.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${rotated.json().access_token}` } })
    expect(all.statusCode).toBe(204)
    expectProblem(await refresh(rotated.json().refresh_token), 401)
    expectProblem(await refresh(third.refresh_token), 401)

    // Someone else's refresh token is not yours to revoke.
    const victim = await t.user('victim')
    const attacker = await t.user('attacker')
    await t.inject({ method: 'POST', url: '/auth/logout', headers: attacker.headers, payload: { refresh_token: victim.refreshToken } })
    expect((await refresh(victim.refreshToken)).statusCode).toBe(200)

    expectProblem(await t.inject({ method: 'POST', url: '/auth/logout', payload: {} }), 401, 'UNAUTHORIZED')
  })

  test('a username taken in any case is a 409 and creates nothing', async () => {
    const username = uniqueName('Dup')
    expect((await register({ username, password: 'password-1' })).statusCode).toBe(201)
    for (const variant of [username, username.toUpperCase(), username.toLowerCase()]) {
      expectProblem(await register({ username: variant, password: 'password-2' }), 409, 'CONFLICT')
    }
    const rows = await t.db.selectFrom('users').select('id').where(sql<string>`lower(username)`, '=', username.toLowerCase()).execute()
    expect(rows).toHaveLength(1)
  })

  test('20 concurrent registrations of one name: exactly one 201, the rest 409, no 5xx', async () => {
    const username = uniqueName('race')
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register({ username: i % 2 ? username : username.toUpperCase(), password: `password-${i}` })),
    )
    const statuses = results.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(19)
    for (const res of results.filter((r) => r.statusCode === 409)) expectProblem(res, 409, 'CONFLICT')
    const rows = await t.db.selectFrom('users').select('id').where(sql<string>`lower(username)`, '=', username.toLowerCase()).execute()
    expect(rows).toHaveLength(1)
  })

  test('a wrong password and an unknown user get the same 401 body', async () => {
    const u = await t.user('same')
    const wrong = await login(u.username, 'not the password')
    const unknown = await login(uniqueName('nobody'), 'not the password')
    expectProblem(wrong, 401, 'UNAUTHORIZED')
    expect(unknown.statusCode).toBe(401)
    expect(unknown.body).toBe(wrong.body)
    expect(unknown.headers['content-type']).toBe(wrong.headers['content-type'])
  })

  test('passwords are 8–128 characters, never truncated: 129 is a 400 and nothing is stored', async () => {
    const long = uniqueName('long')
    const tooLong = await register({ username: long, password: 'x'.repeat(129) })
    expect(expectProblem(tooLong, 400, 'VALIDATION_FAILED').errors).toEqual([{ path: 'body.password', message: expect.any(String) }])
    expectProblem(await register({ username: long, password: 'x'.repeat(7) }), 400, 'VALIDATION_FAILED')
    expect(await t.db.selectFrom('users').select('id').where('username', '=', long).execute()).toEqual([])

    const max = 'p'.repeat(127) + 'q'
    expect((await register({ username: long, password: max })).statusCode).toBe(201)
    expect((await login(long, max)).statusCode).toBe(200)
    // Every character counts: the same 127-character prefix with another last character is wrong.
    expectProblem(await login(long, 'p'.repeat(128)), 401)
    expectProblem(await login(long, 'p'.repeat(127)), 401)
  })

  test('repeated failures are throttled with 429 and Retry-After, even for the right password, until the window passes', async () => {
    let clock = Date.now()
    const app = await t.build({
      loginThrottle: new LoginThrottle({
        perUsername: { limit: 3, windowSeconds: 60 },
        perAddress: { limit: 5, windowSeconds: 60 },
        now: () => clock,
      }),
    })
    const u = await t.user('thr', app)
    const attempt = (username: string, password: string, remoteAddress = '10.0.0.1') =>
      app.inject({ method: 'POST', url: '/auth/login', remoteAddress, payload: { username, password } })

    for (let i = 0; i < 3; i++) expectProblem(await attempt(u.username, 'wrong password'), 401)
    const blocked = await attempt(u.username, u.password)
    expectProblem(blocked, 429, 'RATE_LIMITED')
    const retryAfter = Number(blocked.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // Per username, whatever its case and wherever it comes from.
    expectProblem(await attempt(u.username.toUpperCase(), u.password, '10.0.0.9'), 429, 'RATE_LIMITED')

    clock += 61_000
    expect((await attempt(u.username, u.password)).statusCode).toBe(200)

    // Per address: many usernames from one address, then that address waits; others do not.
    for (let i = 0; i < 5; i++) expectProblem(await attempt(uniqueName('spray'), 'wrong password', '10.0.0.2'), 401)
    expectProblem(await attempt(u.username, u.password, '10.0.0.2'), 429, 'RATE_LIMITED')
    expect((await attempt(u.username, u.password, '10.0.0.3')).statusCode).toBe(200)
    clock += 61_000
    expect((await attempt(u.username, u.password, '10.0.0.2')).statusCode).toBe(200)
  })

  describe('access tokens that are not valid get 401 with WWW-Authenticate: Bearer', () => {
    let u: TestUser
    const cases: [string, (u: TestUser, secret: string) => string | undefined][] = [
      ['missing', () => undefined],
      ['not a bearer header', (u) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`],
      ['malformed', () => 'Bearer not.a.jwt!'],
      ['tampered payload', (u) => {
        const [h, , s] = u.accessToken.split('.')
        const payload = Buffer.from(JSON.stringify(claimsFor({ id: randomBytes(16).toString('hex'), username: 'admin' }))).toString('base64url')
        return `Bearer ${h}.${payload}.${s}`
      }],
      ['tampered signature', (u) => `Bearer ${u.accessToken.slice(0, -2)}${u.accessToken.endsWith('AA') ? 'BB' : 'AA'}`],
      ['expired', (u, secret) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u, { iat: 1_600_000_000, exp: 1_600_000_900 }), secret)}`],
      ['signed with another key', (u) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u), randomBytes(48).toString('base64url'))}`],
      ['alg none', (u) => `Bearer ${signJwt({ alg: 'none', typ: 'JWT' }, claimsFor(u), '')}`],
      ['another HMAC algorithm', (u, secret) => `Bearer ${signJwt({ alg: 'HS512', typ: 'JWT' }, claimsFor(u), secret)}`],
      ['another issuer', (u, secret) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u, { iss: 'someone-else' }), secret)}`],
      ['another audience', (u, secret) => `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u, { aud: 'other-api' }), secret)}`],
      ['a refresh token', (u) => `Bearer ${u.refreshToken}`],
    ]

    test.each(cases)('%s', async (_name, make) => {
      u ??= await t.user('tok')
      const authorization = make(u, t.config.jwtSecret)
      for (const res of [await me(authorization), await t.inject({ method: 'POST', url: '/auth/protected', headers: authorization ? { authorization } : {} })]) {
        expectProblem(res, 401, 'UNAUTHORIZED')
        expect(res.headers['www-authenticate']).toBe('Bearer')
      }
    })

    test('while a token signed by hand with the right key and claims is accepted', async () => {
      u ??= await t.user('tok')
      const token = signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u), t.config.jwtSecret)
      expect((await me(`Bearer ${token}`)).json().id).toBe(u.id)
    })
  })

  test('no log line carries a password or its hash, even at trace level', async () => {
    const { stream, lines } = captureLog()
    const app = await t.build({ fastify: { logger: { level: 'trace', stream } } })
    const username = uniqueName('logged')
    const password = `secret-${randomBytes(8).toString('hex')}`
    const post = (url: string, payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload, headers })
    expect((await post('/auth/register', { username, password })).statusCode).toBe(201)
    expect((await post('/auth/register', { username, password })).statusCode).toBe(409)
    const tokens = (await post('/auth/login', { username, password })).json()
    expect((await post('/auth/login', { username, password: `${password}x` })).statusCode).toBe(401)
    expect((await post('/auth/register', { username: uniqueName('short'), password: 'short' })).statusCode).toBe(400)
    expect((await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode).toBe(200)
    expect((await post('/auth/refresh', { refresh_token: tokens.refresh_token })).statusCode).toBe(200)

    expect(lines.length).toBeGreaterThan(10)
    expect(lines.filter((line) => line.includes('$argon2') || line.includes(password))).toEqual([])
    const stored = await t.db.selectFrom('users').select('passwordHash').where('username', '=', username).executeTakeFirstOrThrow()
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/)
    expect(lines.filter((line) => line.includes(stored.passwordHash))).toEqual([])
  })

  test('no response body of this file carried a password hash', () => {
    expect(t.bodies.length).toBeGreaterThan(50)
    expect(t.bodies.filter((body) => body.includes('$argon2'))).toEqual([])
  })
})
