import * as argon2 from 'argon2'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Argon2PasswordHasher, LoginThrottle, PasswordHasher, resolve, UnauthorizedError } from '../src/index.js'
import type { Argon2Binding } from '../src/extend.js'
import { buildAuthApp } from './support/auth-app.js'

/** argon2 at a low cost, counting every verification (the hasher's seam for tests). */
function countingBinding() {
  const counts = { verify: 0 }
  const binding: Argon2Binding = {
    hash: (password, options) => argon2.hash(password, { ...options, memoryCost: 1024, timeCost: 1 }),
    verify: (hash, password) => {
      counts.verify++
      return argon2.verify(hash, password)
    },
  }
  return { binding, counts }
}

describe('the login throttle under concurrency', () => {
  const { binding, counts } = countingBinding()
  let app: FastifyInstance
  let aliceHash: string

  beforeAll(async () => {
    const hasher = new Argon2PasswordHasher({ binding, memoryCost: 1024, timeCost: 1, queue: { maxQueued: 1_000, maxWaitMs: 60_000 } })
    aliceHash = await hasher.hash('alice-password')
    app = await buildAuthApp({
      auth: {
        passwordHasher: hasher,
        loginThrottle: { perUsername: { limit: 5, windowSeconds: 900 }, perAddress: { limit: 20, windowSeconds: 900 } },
      },
      routes(app) {
        // The login of an app: verify under the throttle (unknown users verify a dummy hash).
        app.post<{ Body: { username: string; password: string } }>('/login', async (request) => {
          const { username, password } = request.body
          await request.container.resolve(LoginThrottle).attempt({ username, address: request.ip }, async () => {
            const hasher = resolve(request.container, PasswordHasher)
            const ok = username === 'alice' ? await hasher.verify({ hash: aliceHash, password }) : await hasher.verifyDummy(password)
            if (!ok) throw new UnauthorizedError('Invalid username or password')
          })
          return { ok: true }
        })
      },
    })
  })
  afterAll(() => app.close())

  test('200 concurrent wrong guesses and then the right password: at most 5 argon2 verifications, and the right password gets 429', async () => {
    counts.verify = 0
    const guesses = Array.from({ length: 200 }, (_, i) =>
      app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: `guess-${i}` } }),
    )
    const right = app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: 'alice-password' } })
    const responses = await Promise.all(guesses)
    const statuses = responses.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 401)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(195)
    const last = await right
    expect(last.statusCode).toBe(429)
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0)
    expect(counts.verify).toBeLessThanOrEqual(5)
  })

  test('per address too: concurrent guesses spread over many usernames stop at the address limit', async () => {
    counts.verify = 0
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        app.inject({ method: 'POST', url: '/login', remoteAddress: '10.1.2.3', payload: { username: `spray-${i}`, password: 'guess' } }),
      ),
    )
    expect(responses.filter((r) => r.statusCode === 401)).toHaveLength(20)
    expect(responses.filter((r) => r.statusCode === 429)).toHaveLength(80)
    expect(counts.verify).toBeLessThanOrEqual(20)
  })
})
