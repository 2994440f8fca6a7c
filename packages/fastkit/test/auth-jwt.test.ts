import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  AccessTokens,
  createDatabase,
  CurrentUser,
  fastkit,
  fastkitAuth,
  resolve,
  UnauthorizedError,
  type AccessTokenResponse,
} from '../src/index.js'
import { buildAuthApp, signJwt, TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, testClaims } from './support/auth-app.js'

const HS256 = { alg: 'HS256', typ: 'JWT' }

describe('auth plugin: access tokens', () => {
  let app: FastifyInstance

  beforeAll(async () => {
    app = await buildAuthApp({
      routes(app) {
        app.get('/me', { preHandler: app.authenticate }, async (request) => ({
          user: request.user,
          fromContainer: resolve(request.container, CurrentUser),
          claims: request.accessTokenClaims,
        }))
        app.get('/anonymous', async (request) => ({ user: resolve(request.container, CurrentUser) }))
        app.post('/token', async () => app.issueAccessToken({ id: 'user-1', username: 'alice' }))
      },
    })
  })
  afterAll(() => app.close())

  const me = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/me', headers: authorization === undefined ? {} : { authorization } })

  test('issueAccessToken answers an OAuth2 token response that lasts 15 minutes by default', async () => {
    const res = await app.inject({ method: 'POST', url: '/token' })
    expect(res.statusCode).toBe(200)
    const body = res.json<AccessTokenResponse>()
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 900 })
    const [header, payload] = body.access_token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    expect(header).toMatchObject({ alg: 'HS256' })
    expect(payload).toMatchObject({ sub: 'user-1', username: 'alice', iss: TEST_ISSUER, aud: TEST_AUDIENCE })
    expect(payload.exp - payload.iat).toBe(900)
    expect(payload.jti).toEqual(expect.any(String))
  })

  test('a valid token puts the user on the request and in the request container', async () => {
    const { access_token } = app.issueAccessToken({ id: 'user-7', username: 'bob' })
    const res = await me(`Bearer ${access_token}`)
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.user).toEqual({ id: 'user-7', username: 'bob' })
    expect(body.fromContainer).toEqual({ id: 'user-7', username: 'bob' })
    expect(body.claims).toMatchObject({ sub: 'user-7', username: 'bob', iss: TEST_ISSUER, aud: TEST_AUDIENCE })
  })

  test('the bearer scheme is case-insensitive, as RFC 7235 says', async () => {
    const { access_token } = app.issueAccessToken({ id: 'user-1', username: 'alice' })
    expect((await me(`bearer ${access_token}`)).statusCode).toBe(200)
  })

  test('a hand-made token with the right key, issuer and audience is accepted (the control for the cases below)', async () => {
    expect((await me(`Bearer ${signJwt(HS256, testClaims())}`)).statusCode).toBe(200)
  })

  const past = () => Math.floor(Date.now() / 1000) - 3600
  const rejected: [string, () => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['another scheme', () => `Basic ${Buffer.from('alice:secret').toString('base64')}`],
    ['the scheme without a token', () => 'Bearer'],
    ['the scheme with two tokens', () => `Bearer ${signJwt(HS256, testClaims())} ${signJwt(HS256, testClaims())}`],
    ['something that is not a JWT', () => 'Bearer not-a-jwt'],
    ['a JWT of garbage', () => 'Bearer aaa.bbb.ccc'],
    ['a tampered payload', () => {
      const [h, , s] = signJwt(HS256, testClaims()).split('.')
      const forged = Buffer.from(JSON.stringify(testClaims({ sub: 'admin' }))).toString('base64url')
      return `Bearer ${h}.${forged}.${s}`
    }],
    ['a tampered signature', () => {
      const token = signJwt(HS256, testClaims())
      return `Bearer ${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
    }],
    ['an expired token', () => `Bearer ${signJwt(HS256, testClaims({ iat: past() - 900, exp: past() }))}`],
    ['a token without exp', () => `Bearer ${signJwt(HS256, testClaims({ exp: undefined }))}`],
    ['a token not yet valid (nbf)', () => `Bearer ${signJwt(HS256, testClaims({ nbf: Math.floor(Date.now() / 1000) + 600 }))}`],
    ['a wrong issuer', () => `Bearer ${signJwt(HS256, testClaims({ iss: 'someone-else' }))}`],
    ['no issuer', () => `Bearer ${signJwt(HS256, testClaims({ iss: undefined }))}`],
    ['a wrong audience', () => `Bearer ${signJwt(HS256, testClaims({ aud: 'another-api' }))}`],
    ['no audience', () => `Bearer ${signJwt(HS256, testClaims({ aud: undefined }))}`],
    ['no subject', () => `Bearer ${signJwt(HS256, testClaims({ sub: undefined }))}`],
    ['a non-string username', () => `Bearer ${signJwt(HS256, testClaims({ username: 42 }))}`],
    ['alg: none, unsigned', () => `Bearer ${signJwt({ alg: 'none', typ: 'JWT' }, testClaims())}`],
    ['alg: none, with a signature part', () => {
      const [h, p] = signJwt({ alg: 'none', typ: 'JWT' }, testClaims()).split('.')
      const [, , s] = signJwt(HS256, testClaims()).split('.')
      return `Bearer ${h}.${p}.${s}`
    }],
    ['alg: NONE (case games)', () => `Bearer ${signJwt({ alg: 'NONE', typ: 'JWT' }, testClaims())}`],
    ['another HMAC algorithm with the right key (HS384)', () => `Bearer ${signJwt({ alg: 'HS384', typ: 'JWT' }, testClaims())}`],
    ['another HMAC algorithm with the right key (HS512)', () => `Bearer ${signJwt({ alg: 'HS512', typ: 'JWT' }, testClaims())}`],
    ['an RS256 header over an HMAC signature (algorithm confusion)', () => {
      const token = signJwt(HS256, testClaims())
      const [, p, s] = token.split('.')
      return `Bearer ${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url')}.${p}.${s}`
    }],
    ['the wrong key', () => `Bearer ${signJwt(HS256, testClaims(), 'k'.repeat(48))}`],
  ]

  test.each(rejected)('401 problem+json with WWW-Authenticate: Bearer for %s', async (_name, header) => {
    const res = await me(header())
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED', title: 'Unauthorized' })
  })

  test('an expired token says so, so the client knows to refresh', async () => {
    const res = await me(`Bearer ${signJwt(HS256, testClaims({ iat: past() - 900, exp: past() }))}`)
    expect(res.json().detail).toBe('Access token expired')
  })

  test('resolving CurrentUser on a route without authentication is a 401, not a 500', async () => {
    const res = await app.inject({ method: 'GET', url: '/anonymous' })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
  })

  test('verifyAccessToken (for the WebSocket ?token=) returns the user or throws UnauthorizedError', async () => {
    const { access_token } = app.issueAccessToken({ id: 'user-9', username: 'carol' })
    await expect(app.verifyAccessToken(access_token)).resolves.toEqual({ id: 'user-9', username: 'carol' })
    await expect(resolve(app.container, AccessTokens).verify(access_token)).resolves.toEqual({ id: 'user-9', username: 'carol' })
    for (const bad of ['', 'x', signJwt(HS256, testClaims({ aud: 'nope' })), signJwt({ alg: 'none' }, testClaims())]) {
      await expect(app.verifyAccessToken(bad)).rejects.toBeInstanceOf(UnauthorizedError)
    }
  })
})

describe('auth plugin: configuration', () => {
  const register = async (options: Record<string, unknown>) => {
    const app = Fastify({ logger: false })
    await app.register(fastkit, { db: createDatabase<any>('memory://'), ownsDatabase: true })
    await app.register(fastkitAuth, { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, ...options } as never)
    try {
      await app.ready()
    } finally {
      await app.close()
    }
  }

  test('refuses a secret shorter than the hash output (32 bytes for HS256, 64 for HS512)', async () => {
    await expect(register({ secret: 'too-short' })).rejects.toThrow(/at least 32 bytes/)
    await expect(register({ secret: 'x'.repeat(48), algorithm: 'HS512' })).rejects.toThrow(/at least 64 bytes/)
  })

  test('refuses algorithms other than HS256/HS384/HS512, `none` included', async () => {
    await expect(register({ algorithm: 'none' })).rejects.toThrow(/unsupported algorithm/)
    await expect(register({ algorithm: 'RS256' })).rejects.toThrow(/unsupported algorithm/)
  })

  test('requires issuer and audience', async () => {
    await expect(register({ issuer: '' })).rejects.toThrow(/issuer/)
    await expect(register({ audience: undefined })).rejects.toThrow(/audience/)
  })

  test('needs the fastkit plugin registered first', async () => {
    const app = Fastify({ logger: false })
    const boot = async () => {
      await app.register(fastkitAuth, { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE })
      await app.ready()
    }
    await expect(boot()).rejects.toThrow(/dependency 'fastkit'/)
    await app.close()
  })

  test('HS512 with a 64-byte key signs and verifies HS512 only', async () => {
    const secret = 's'.repeat(64)
    const app = await buildAuthApp({ auth: { secret, algorithm: 'HS512', accessTokenTtlSeconds: 60 } })
    try {
      const { access_token, expires_in } = app.issueAccessToken({ id: 'u', username: 'u' })
      expect(expires_in).toBe(60)
      expect(JSON.parse(Buffer.from(access_token.split('.')[0]!, 'base64url').toString()).alg).toBe('HS512')
      await expect(app.verifyAccessToken(access_token)).resolves.toEqual({ id: 'u', username: 'u' })
      await expect(app.verifyAccessToken(signJwt(HS256, testClaims(), secret))).rejects.toBeInstanceOf(UnauthorizedError)
    } finally {
      await app.close()
    }
  })
})
