import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { BadRequestError, LoginThrottle, RegistrationThrottle, UnauthorizedError } from '../src/index.js'
import { buildAuthApp } from './support/auth-app.js'

const START = 1_900_000_000_000

describe('login throttling over HTTP', () => {
  const clock = { now: START }
  let app: FastifyInstance

  beforeAll(async () => {
    app = await buildAuthApp({
      auth: {
        loginThrottle: {
          perUsername: { limit: 3, windowSeconds: 60 },
          perAddress: { limit: 5, windowSeconds: 120 },
          now: () => clock.now,
        },
      },
      routes(app) {
        // A stand-in for AuthService.login: the password is "right"; "bad-input" is a 400.
        app.post<{ Body: { username: string; password: string } }>('/login', async (request) => {
          const { username, password } = request.body
          return request.container.resolve(LoginThrottle).attempt({ username, address: request.ip }, async () => {
            if (password === 'bad-input') throw new BadRequestError('bad input')
            if (password !== 'right') throw new UnauthorizedError('Invalid username or password')
            return { ok: true }
          })
        })
      },
    })
  })
  beforeEach(() => {
    // Each test starts a day later: every window of the previous test has passed.
    clock.now += 24 * 60 * 60 * 1000
  })
  afterAll(() => app.close())

  const login = (username: string, password: string, remoteAddress = '10.0.0.1') =>
    app.inject({ method: 'POST', url: '/login', payload: { username, password }, remoteAddress })
  const advance = (seconds: number) => {
    clock.now += seconds * 1000
  }

  test('turns on at the limit with 429 and Retry-After, refuses even the right password, and turns off after the window', async () => {
    for (let i = 0; i < 3; i++) {
      advance(1)
      expect((await login('alice', 'wrong')).statusCode).toBe(401)
    }
    const blocked = await login('alice', 'right')
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers['retry-after']).toBe('58') // the first failure, 2 s ago, leaves the 60 s window in 58 s
    expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(blocked.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' })

    advance(57)
    expect((await login('alice', 'right')).headers['retry-after']).toBe('1')
    advance(1)
    expect((await login('alice', 'right')).statusCode).toBe(200)
  })

  test('the window slides: after the oldest failure leaves it, one more attempt is allowed', async () => {
    expect((await login('bob', 'wrong')).statusCode).toBe(401) // t=0
    advance(10)
    expect((await login('bob', 'wrong')).statusCode).toBe(401) // t=10
    advance(10)
    expect((await login('bob', 'wrong')).statusCode).toBe(401) // t=20
    advance(10)
    expect((await login('bob', 'wrong')).headers['retry-after']).toBe('30') // t=30: free at t=60
    advance(31)
    expect((await login('bob', 'wrong')).statusCode).toBe(401) // t=61: one slot, used up
    expect((await login('bob', 'wrong')).headers['retry-after']).toBe('9') // free again at t=70
  })

  test('a success resets the username\'s failures', async () => {
    expect((await login('carol', 'wrong')).statusCode).toBe(401)
    expect((await login('carol', 'wrong')).statusCode).toBe(401)
    expect((await login('carol', 'right')).statusCode).toBe(200)
    expect((await login('carol', 'wrong')).statusCode).toBe(401)
    expect((await login('carol', 'wrong')).statusCode).toBe(401)
    expect((await login('carol', 'wrong')).statusCode).toBe(401)
    expect((await login('carol', 'wrong')).statusCode).toBe(429)
  })

  test('usernames count case-insensitively, and unknown usernames count like known ones', async () => {
    expect((await login('Dave', 'wrong')).statusCode).toBe(401)
    expect((await login('DAVE', 'wrong')).statusCode).toBe(401)
    expect((await login('dave', 'wrong')).statusCode).toBe(401)
    expect((await login('dAvE', 'right')).statusCode).toBe(429)
  })

  test('per address: many usernames from one address are throttled; another address is not', async () => {
    for (let i = 0; i < 5; i++) expect((await login(`spray-${i}`, 'wrong', '10.9.9.9')).statusCode).toBe(401)
    const blocked = await login('fresh-name', 'right', '10.9.9.9')
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers['retry-after']).toBe('120')
    expect((await login('fresh-name', 'right', '10.8.8.8')).statusCode).toBe(200)
    advance(120)
    expect((await login('another', 'right', '10.9.9.9')).statusCode).toBe(200)
  })

  test('errors other than 401 (bad input, outages) are not counted as failures', async () => {
    for (let i = 0; i < 5; i++) expect((await login('erin', 'bad-input')).statusCode).toBe(400)
    expect((await login('erin', 'right')).statusCode).toBe(200)
  })
})

describe('throttle rules', () => {
  test('LoginThrottle and RegistrationThrottle refuse nonsensical rules', () => {
    expect(() => new LoginThrottle({ perUsername: { limit: 0, windowSeconds: 60 } })).toThrow(RangeError)
    expect(() => new LoginThrottle({ perAddress: { limit: 3, windowSeconds: 0 } })).toThrow(RangeError)
    expect(() => new RegistrationThrottle({ perAddress: { limit: 0, windowSeconds: 60 } })).toThrow(RangeError)
  })
})
