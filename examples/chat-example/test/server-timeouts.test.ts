import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createDatabase, MemoryTransport, serverOptions } from 'fastkit'
import { buildApp } from '../src/app.js'
import type { DB } from '../src/db/schema.js'
import { testConfig } from './support/chat-app.js'

// About the network, not the database: one embedded PGlite, whatever the matrix.
describe('the chat server cuts off clients that hold a request open (fastkit’s serverOptions())', () => {
  let app: FastifyInstance
  let port: number
  const recommended = serverOptions()
  const db = createDatabase<DB>('memory://')

  beforeAll(async () => {
    app = await buildApp({ config: testConfig('memory://'), db, transport: new MemoryTransport() })
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as { port: number }).port
  })
  afterAll(async () => {
    await app?.close()
    await db.destroy()
  })

  test('the server runs with the recommended timeouts', () => {
    expect(app.server.requestTimeout).toBe(recommended.requestTimeout)
    expect(app.server.headersTimeout).toBe(recommended.http.headersTimeout)
    expect(app.server.keepAliveTimeout).toBe(recommended.keepAliveTimeout)
    expect(app.server.timeout).toBe(recommended.connectionTimeout)
  })

  test(
    'a client that sends its body one byte every 2 s is cut off once requestTimeout has passed',
    async () => {
      const limit = recommended.requestTimeout
      const socket = connect(port, '127.0.0.1')
      let received = ''
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
      socket.on('error', () => {}) // a reset is one way of being cut off
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      const started = Date.now()
      socket.write(
        'POST /auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      )
      // Every write resets a plain inactivity timer; only the whole-request deadline can end this.
      const drip = setInterval(() => {
        if (!socket.destroyed) socket.write(' ')
      }, 2_000)
      const closedAfter = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)))
      clearInterval(drip)
      expect(closedAfter).toBeGreaterThanOrEqual(limit - 500)
      // Node checks the deadline every connectionsCheckingInterval (1 s); the rest is a loaded machine's slack.
      expect(closedAfter).toBeLessThan(limit + 5_000)
      expect(received).toMatch(/^HTTP\/1\.1 408 /)
    },
    recommended.requestTimeout + 15_000,
  )
})
