import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { dialectsUnderTest, testRedisUrl, type TestDatabase } from 'fastkit/testing'
import type { DB } from '../src/db/schema.js'
import { createChatDatabase, TEST_JWT_SECRET } from './support/realtime-app.js'
import { freePort } from './support/realtime-processes.js'

const exampleDir = fileURLToPath(new URL('../', import.meta.url))
const REDIS_URL = testRedisUrl()

interface Server {
  readonly baseUrl: string
  readonly child: ChildProcess
  output(): string
}

/** `node --import tsx src/main.ts` on a free port, resolved once GET /health answers. */
async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--conditions=@fastkit/source', '--import', 'tsx', 'src/main.ts'], {
    cwd: exampleDir,
    env: { ...process.env, REDIS_URL: '', NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the chat process exited (${child.exitCode}) before serving\n${output}`)
    if (Date.now() > deadline) throw new Error(`the chat process did not start within 60 s\n${output}`)
    const up = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)
    if (up) return { baseUrl, child, output: () => output }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

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
    let servers: Server[] = []

    beforeAll(async () => {
      t = await createChatDatabase('postgres')
      servers = await Promise.all([startServer({ DATABASE_URL: t.url, ...env }), startServer({ DATABASE_URL: t.url, ...env })])
    }, 120_000)

    afterAll(async () => {
      await Promise.all(servers.map(stop))
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
