import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { dialectsUnderTest, testRedisUrl, type TestDatabase } from 'fastkit/testing'
import type { DB } from '../src/db/schema.js'
import { createChatDatabase } from './support/realtime-app.js'
import { startChatProcess, type ChatProcess } from './support/realtime-processes.js'

const REDIS_URL = testRedisUrl()

async function post(baseUrl: string, path: string, body: unknown): Promise<{ status: number; retryAfter: string | null }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  await response.arrayBuffer()
  return { status: response.status, retryAfter: response.headers.get('retry-after') }
}

const stores: (readonly [string, Record<string, string>])[] = [
  ['the throttle_events table', {}],
  ...(REDIS_URL ? [['Redis', { REDIS_URL }] as const] : []),
]

// Two processes need a database server they can share (PGlite belongs to one process): registered
// only when PostgreSQL is under test, never skipped.
if (dialectsUnderTest().includes('postgres')) {
  describe.each(stores)('two chat processes sharing one login throttle in %s', (_name, env) => {
    let t: TestDatabase<DB>
    let servers: ChatProcess[] = []

    beforeAll(async () => {
      t = await createChatDatabase('postgres')
      servers = await Promise.all([startChatProcess({ DATABASE_URL: t.url, ...env }), startChatProcess({ DATABASE_URL: t.url, ...env })])
    }, 120_000)

    afterAll(async () => {
      await Promise.all(servers.map((server) => server.stop()))
      await t?.destroy()
    })

    test('80 concurrent wrong guesses split over both processes: 5 failures in all (the per-username limit), then the right password gets 429 on each', async () => {
      const username = `victim_${randomBytes(4).toString('hex')}`
      const password = 'the right password'
      expect((await post(servers[0]!.baseUrl, '/auth/register', { username, password })).status).toBe(201)

      const results = await Promise.all(
        Array.from({ length: 80 }, (_, i) => post(servers[i % 2]!.baseUrl, '/auth/login', { username, password: `guess ${i}` })),
      )
      const statuses = results.map((r) => r.status)
      // Each process alone would allow 5: together they allow 5, not 10.
      expect(statuses.filter((s) => s === 401)).toHaveLength(5)
      expect(statuses.filter((s) => s === 429)).toHaveLength(75)
      for (const server of servers) {
        const right = await post(server.baseUrl, '/auth/login', { username, password })
        expect(right.status).toBe(429)
        expect(Number(right.retryAfter)).toBeGreaterThan(0)
      }
    })
  })
}
