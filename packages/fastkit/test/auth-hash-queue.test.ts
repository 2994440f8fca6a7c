import { availableParallelism } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { Argon2PasswordHasher, HashQueue, PasswordHasher, resolve, ServiceUnavailableError } from '../src/index.js'
import type { Argon2Binding } from '../src/extend.js'
import { buildAuthApp } from './support/auth-app.js'

/** A task that runs until `finish()` is called. */
function blocker() {
  let finish!: () => void
  const done = new Promise<void>((resolve) => (finish = resolve))
  return { finish, task: () => done.then(() => 'done') }
}

describe('HashQueue', () => {
  test('runs at most `concurrency` tasks, queues at most `maxQueued`, and refuses the next with 503 and Retry-After', async () => {
    const queue = new HashQueue({ concurrency: 2, maxQueued: 1, retryAfterSeconds: 3 })
    const [a, b, c] = [blocker(), blocker(), blocker()]
    const runs = [queue.run(a.task), queue.run(b.task), queue.run(c.task)]
    expect({ running: queue.running, queued: queue.queued }).toEqual({ running: 2, queued: 1 })
    const refused = await queue.run(async () => 'never').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ServiceUnavailableError)
    expect((refused as ServiceUnavailableError).status).toBe(503)
    expect((refused as ServiceUnavailableError).headers).toMatchObject({ 'retry-after': '3' })

    a.finish()
    await runs[0]
    // The finished task's slot went to the queued one.
    expect({ running: queue.running, queued: queue.queued }).toEqual({ running: 2, queued: 0 })
    b.finish()
    c.finish()
    expect(await Promise.all(runs)).toEqual(['done', 'done', 'done'])
    expect({ running: queue.running, queued: queue.queued }).toEqual({ running: 0, queued: 0 })
  })

  test('a task that waits longer than maxWaitMs is refused with 503 and never runs', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 10, maxWaitMs: 50 })
    const a = blocker()
    const first = queue.run(a.task)
    let ran = false
    const late = await queue
      .run(async () => {
        ran = true
      })
      .catch((error: unknown) => error)
    expect(late).toBeInstanceOf(ServiceUnavailableError)
    expect(queue.queued).toBe(0)
    a.finish()
    await first
    expect(ran).toBe(false)
    expect(queue.running).toBe(0)
  })

  test('a failing task frees its slot', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 0 })
    await expect(queue.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await queue.run(async () => 'ok')).toBe('ok')
  })

  test('by default one task per core but one, below the libuv thread pool size', () => {
    const queue = new HashQueue()
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4
    expect(queue.concurrency).toBe(Math.max(1, Math.min(availableParallelism() - 1, pool - 1)))
    expect({ maxQueued: queue.maxQueued, maxWaitMs: queue.maxWaitMs }).toEqual({ maxQueued: 64, maxWaitMs: 10_000 })
  })
})

describe('password hashing through a full queue over HTTP', () => {
  // argon2 that waits until released, so the queue fills deterministically.
  const gates: (() => void)[] = []
  const binding: Argon2Binding = {
    hash: () => new Promise((resolve) => gates.push(() => resolve('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA'))),
    verify: () => new Promise((resolve) => gates.push(() => resolve(false))),
  }
  let app: FastifyInstance
  const hasher = new Argon2PasswordHasher({ binding, queue: { concurrency: 1, maxQueued: 1, retryAfterSeconds: 2 } })

  beforeAll(async () => {
    app = await buildAuthApp({
      auth: { passwordHasher: hasher },
      routes(app) {
        app.post<{ Body: { password: string } }>('/register', async (request, reply) => {
          await resolve(request.container, PasswordHasher).hash(request.body.password)
          return reply.code(201).send({})
        })
      },
    })
  })
  afterAll(() => app.close())

  test('beyond one running and one waiting hash, registration answers 503 problem+json with Retry-After at once', async () => {
    const register = () => app.inject({ method: 'POST', url: '/register', payload: { password: 'a password' } })
    const admitted = [register(), register()]
    await vi.waitFor(() => expect({ running: hasher.queue.running, queued: hasher.queue.queued }).toEqual({ running: 1, queued: 1 }))
    const refused = await register()
    expect(refused.statusCode).toBe(503)
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(refused.headers['retry-after']).toBe('2')
    expect(refused.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
    // The admitted ones complete once argon2 does.
    let settled = false
    const all = Promise.all(admitted).finally(() => (settled = true))
    while (!settled) {
      gates.shift()?.()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect((await all).map((r) => r.statusCode)).toEqual([201, 201])
  })
})
