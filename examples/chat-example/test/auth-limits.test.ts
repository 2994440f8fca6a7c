import { Argon2PasswordHasher, type PasswordHasher } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import { describe, expect, test } from 'vitest'
import { expectProblem, uniqueName, useChatApp } from './support/chat-app.js'

/** argon2id at a low cost, counting every hash and verification (dummy ones included). */
function countingHasher() {
  const counts = { verify: 0, hash: 0 }
  const argon2 = new Argon2PasswordHasher({ memoryCost: 1024, timeCost: 1, queue: { maxQueued: 1_000, maxWaitMs: 60_000 } })
  const hasher: PasswordHasher = {
    hash: (password) => (counts.hash++, argon2.hash(password)),
    verify: (args) => (counts.verify++, argon2.verify(args)),
    verifyDummy: (password) => (counts.verify++, argon2.verifyDummy(password)),
    needsRehash: (hash) => argon2.needsRehash(hash),
  }
  return { hasher, counts }
}

describe.each(dialectsUnderTest())('login and registration limits on %s', (kind) => {
  const t = useChatApp(kind)

  test('200 concurrent wrong guesses, then the right password: at most 5 argon2 verifications, and the right password gets 429', async () => {
    const { hasher, counts } = countingHasher()
    const app = await t.build({ passwordHasher: hasher })
    const u = await t.user('victim', app)
    counts.verify = 0
    const login = (password: string) => app.inject({ method: 'POST', url: '/auth/login', payload: { username: u.username, password } })
    const guesses = Array.from({ length: 200 }, (_, i) => login(`guess number ${i}`))
    const right = login(u.password)
    const responses = await Promise.all(guesses)
    const statuses = responses.map((r) => r.statusCode)
    const other = responses.find((r) => r.statusCode !== 401 && r.statusCode !== 429)
    expect(other, `unexpected ${other?.statusCode}: ${other?.body}`).toBeUndefined()
    expect(statuses.filter((s) => s === 401)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(195)
    const refused = await right
    expectProblem(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    expect(counts.verify).toBeLessThanOrEqual(5)
  })

  test('registrations are limited per address with 429 and Retry-After, before any hashing', async () => {
    const { hasher, counts } = countingHasher()
    const app = await t.build({ passwordHasher: hasher, registrationThrottle: { perAddress: { limit: 3, windowSeconds: 600 } } })
    const register = (username: string, remoteAddress: string) =>
      app.inject({ method: 'POST', url: '/auth/register', remoteAddress, payload: { username, password: 'a good password' } })
    const taken = uniqueName('reg')
    expect((await register(taken, '10.0.0.5')).statusCode).toBe(201)
    expect((await register(uniqueName('reg'), '10.0.0.5')).statusCode).toBe(201)
    expectProblem(await register(taken, '10.0.0.5'), 409) // a taken username counts too
    counts.hash = 0
    const refused = await register(uniqueName('reg'), '10.0.0.5')
    expectProblem(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(590)
    expect(counts.hash).toBe(0)
    // Another address is not affected.
    expect((await register(uniqueName('reg'), '10.0.0.6')).statusCode).toBe(201)
  })

  test('when the hash queue is full, register and login answer 503 with Retry-After, and the login is not counted', async () => {
    const hasher = new Argon2PasswordHasher({ memoryCost: 1024, timeCost: 1, queue: { concurrency: 1, maxQueued: 0, retryAfterSeconds: 2 } })
    const app = await t.build({ passwordHasher: hasher, loginThrottle: { perUsername: { limit: 1, windowSeconds: 600 }, perAddress: { limit: 10_000, windowSeconds: 60 } } })
    const u = await t.user('busy', app)

    // Another hash holds the queue's only slot, and nothing may wait.
    let release!: () => void
    const busy = hasher.queue.run(() => new Promise<void>((resolve) => (release = resolve)))
    const register = await app.inject({ method: 'POST', url: '/auth/register', payload: { username: uniqueName('busy'), password: 'a good password' } })
    expectProblem(register, 503, 'SERVICE_UNAVAILABLE')
    expect(register.headers['retry-after']).toBe('2')
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: u.username, password: u.password } })
    expectProblem(login, 503, 'SERVICE_UNAVAILABLE')
    expect(login.headers['retry-after']).toBe('2')

    release()
    await busy
    // The refused login did not use up the username's single attempt.
    expect((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: u.username, password: u.password } })).statusCode).toBe(200)
  })
})
