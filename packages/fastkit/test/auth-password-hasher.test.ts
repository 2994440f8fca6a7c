import * as argon2 from 'argon2'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Argon2PasswordHasher, MAX_PASSWORD_LENGTH, PasswordHasher, resolve, UnauthorizedError, ValidationError } from '../src/index.js'
import type { Argon2Binding } from '../src/extend.js'
import { buildAuthApp } from './support/auth-app.js'

/** The real argon2, with a log of every call (the hasher's only seam for tests). */
function countingBinding() {
  const calls: { fn: 'hash' | 'verify'; hash?: string }[] = []
  const binding: Argon2Binding = {
    hash: (password, options) => {
      calls.push({ fn: 'hash' })
      return argon2.hash(password, options)
    },
    verify: (hash, password) => {
      calls.push({ fn: 'verify', hash })
      return argon2.verify(hash, password)
    },
  }
  return { binding, calls }
}

const PHC_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher()
  let hash: string

  beforeAll(async () => {
    hash = await hasher.hash('correct horse battery staple')
  })

  test('hashes with argon2id at the OWASP cost: m=19456 KiB, t=2, p=1', () => {
    expect(hash).toMatch(PHC_PARAMS)
    const [, m, t, p] = PHC_PARAMS.exec(hash)!
    expect({ m: Number(m), t: Number(t), p: Number(p) }).toEqual({ m: 19456, t: 2, p: 1 })
  })

  test('salts every hash', async () => {
    expect(await hasher.hash('correct horse battery staple')).not.toBe(hash)
  })

  test('verifies the right password and rejects a wrong one', async () => {
    expect(await hasher.verify({ hash, password: 'correct horse battery staple' })).toBe(true)
    expect(await hasher.verify({ hash, password: 'Correct horse battery staple' })).toBe(false)
  })

  test('the cost is configurable', async () => {
    const light = new Argon2PasswordHasher({ memoryCost: 8192, timeCost: 3, parallelism: 2 })
    expect(await light.hash('pw')).toMatch(/^\$argon2id\$v=19\$m=8192,t=3,p=2\$/)
  })

  test('needsRehash: false for a hash of the current parameters, true after any cost change', async () => {
    expect(hasher.needsRehash(hash)).toBe(false)
    expect(new Argon2PasswordHasher({ timeCost: 3 }).needsRehash(hash)).toBe(true)
    expect(new Argon2PasswordHasher({ memoryCost: 47104, timeCost: 1 }).needsRehash(hash)).toBe(true)
    expect(new Argon2PasswordHasher({ parallelism: 2 }).needsRehash(hash)).toBe(true)
  })

  test('needsRehash: true for another argon2 variant or something that is not an argon2 hash', async () => {
    const argon2i = await argon2.hash('pw', { type: argon2.argon2i, memoryCost: 19456, timeCost: 2, parallelism: 1 })
    expect(hasher.needsRehash(argon2i)).toBe(true)
    expect(hasher.needsRehash('$2b$12$abcdefghijklmnopqrstuv')).toBe(true)
    expect(hasher.needsRehash('')).toBe(true)
  })

  test('an old hash still verifies after a cost change, so it can be upgraded at login', async () => {
    const stronger = new Argon2PasswordHasher({ timeCost: 3 })
    expect(await stronger.verify({ hash, password: 'correct horse battery staple' })).toBe(true)
    expect(stronger.needsRehash(await stronger.hash('correct horse battery staple'))).toBe(false)
  })

  test('passwords longer than 128 characters or empty are rejected before argon2 runs', async () => {
    const { binding, calls } = countingBinding()
    const counted = new Argon2PasswordHasher({ binding })
    const long = 'a'.repeat(MAX_PASSWORD_LENGTH + 1)
    await expect(counted.hash(long)).rejects.toBeInstanceOf(ValidationError)
    await expect(counted.hash('')).rejects.toBeInstanceOf(ValidationError)
    await expect(counted.verify({ hash, password: long })).rejects.toBeInstanceOf(ValidationError)
    await expect(counted.verifyDummy(long)).rejects.toBeInstanceOf(ValidationError)
    expect(calls).toEqual([])
    await expect(counted.hash('a'.repeat(MAX_PASSWORD_LENGTH))).resolves.toMatch(PHC_PARAMS)
    expect(calls).toEqual([{ fn: 'hash' }])
  })

  test('verifyDummy is always false and does a real argon2 verify at the current cost', async () => {
    const { binding, calls } = countingBinding()
    const counted = new Argon2PasswordHasher({ binding })
    await counted.warmUp()
    calls.length = 0
    expect(await counted.verifyDummy('correct horse battery staple')).toBe(false)
    expect(await counted.verifyDummy('anything')).toBe(false)
    expect(calls.map((c) => c.fn)).toEqual(['verify', 'verify'])
    for (const call of calls) {
      expect(call.hash).toMatch(PHC_PARAMS)
      expect(counted.needsRehash(call.hash!)).toBe(false)
    }
  })

  test('verifyDummy costs about as much as verifying a wrong password', async () => {
    await hasher.warmUp()
    const median = async (fn: () => Promise<unknown>) => {
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const start = performance.now()
        await fn()
        times.push(performance.now() - start)
      }
      return times.sort((a, b) => a - b)[2]!
    }
    const wrong = await median(() => hasher.verify({ hash, password: 'wrong password' }))
    const dummy = await median(() => hasher.verifyDummy('wrong password'))
    // Loose bounds: the machine is shared; a shortcut (no argon2 at all) would be ~100x faster.
    expect(dummy).toBeGreaterThan(wrong * 0.4)
    expect(dummy).toBeLessThan(wrong * 2.5)
  })
})

describe('password hashing over HTTP', () => {
  const { binding, calls } = countingBinding()
  const users = new Map<string, string>()
  let app: FastifyInstance

  beforeAll(async () => {
    app = await buildAuthApp({
      auth: { passwordHasher: new Argon2PasswordHasher({ binding }) },
      routes(app) {
        app.post<{ Body: { username: string; password: string } }>('/register', async (request, reply) => {
          const hash = await resolve(request.container, PasswordHasher).hash(request.body.password)
          users.set(request.body.username, hash)
          return reply.code(201).send({ username: request.body.username })
        })
        app.post<{ Body: { username: string; password: string } }>('/login', async (request) => {
          const hasher = resolve(request.container, PasswordHasher)
          const hash = users.get(request.body.username)
          const ok = hash ? await hasher.verify({ hash, password: request.body.password }) : await hasher.verifyDummy(request.body.password)
          if (!ok) throw new UnauthorizedError('Invalid username or password')
          return { ok: true }
        })
      },
    })
  })
  afterAll(() => app.close())

  test('the plugin registers an Argon2PasswordHasher by default', async () => {
    const plain = await buildAuthApp()
    try {
      expect(resolve(plain.container, PasswordHasher)).toBeInstanceOf(Argon2PasswordHasher)
    } finally {
      await plain.close()
    }
  })

  test('a 129-character password is a 400 problem and is never hashed', async () => {
    calls.length = 0
    const res = await app.inject({ method: 'POST', url: '/register', payload: { username: 'mallory', password: 'x'.repeat(129) } })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body.password', message: 'must be at most 128 characters' }] })
    expect(calls).toEqual([])
    expect(users.has('mallory')).toBe(false)
  })

  test('a 128-character password is accepted', async () => {
    const res = await app.inject({ method: 'POST', url: '/register', payload: { username: 'long', password: 'x'.repeat(128) } })
    expect(res.statusCode).toBe(201)
    expect(users.get('long')).toMatch(PHC_PARAMS)
  })

  test('unknown user and wrong password give the same status and body', async () => {
    await app.inject({ method: 'POST', url: '/register', payload: { username: 'alice', password: 'alice-password' } })
    calls.length = 0
    const wrong = await app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: 'not-her-password' } })
    const unknown = await app.inject({ method: 'POST', url: '/login', payload: { username: 'nobody', password: 'not-her-password' } })
    expect(wrong.statusCode).toBe(401)
    expect(unknown.statusCode).toBe(401)
    expect(unknown.body).toBe(wrong.body)
    expect(unknown.headers['www-authenticate']).toBe(wrong.headers['www-authenticate'])
    // Both paths ran argon2 verify (the unknown user after the one-time dummy hash).
    expect(calls.filter((c) => c.fn === 'verify')).toHaveLength(2)
    const ok = await app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: 'alice-password' } })
    expect(ok.statusCode).toBe(200)
  })
})
