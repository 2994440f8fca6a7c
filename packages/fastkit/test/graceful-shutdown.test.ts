import { describe, expect, test } from 'vitest'
import Fastify from 'fastify'
import { connect } from 'node:net'
import { closeGracefully, fastkit } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'

/** An app with a route that answers only when the test lets it, listening on a real port. */
async function slowApp(db: Parameters<typeof fastkit>[1]['db']) {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let entered!: () => void
  const inHandler = new Promise<void>((resolve) => (entered = resolve))
  const app = Fastify()
  await app.register(fastkit, { db })
  app.get('/slow', async () => {
    entered()
    await released
    return { done: true }
  })
  app.get('/fast', async () => ({ fast: true }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, port: Number(new URL(address).port), release, inHandler }
}

/** Writes `first` on one raw connection, then `later` once it resolves; resolves with all read until the server closes it. */
function rawExchange(port: number, first: string, later: Promise<string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(first))
    let data = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk))
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
    void later.then((text) => socket.write(text))
  })
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`

describe.each(dialectsUnderTest())('closeGracefully on %s', (kind) => {
  const t = useTestDatabase(kind)

  test('finishes the request in flight, answers one read during the drain with 503 problem+json, refuses new connections', async () => {
    const { app, port, release, inHandler } = await slowApp(t.db)
    let startDrain!: (text: string) => void
    const pipelined = new Promise<string>((resolve) => (startDrain = resolve))
    const exchange = rawExchange(port, get('/slow'), pipelined)
    await inHandler

    const closing = closeGracefully(app, { deadlineMs: 5_000, retryAfterSeconds: 3 })
    startDrain(get('/fast')) // read while draining, queued behind /slow on the same connection
    await expect(fetch(`http://127.0.0.1:${port}/fast`)).rejects.toThrow() // no longer accepting
    setTimeout(release, 100)

    expect(await closing).toEqual({ drained: true, cutRequests: 0 })
    const text = await exchange
    const [slow, refused] = text.split(/(?=HTTP\/1\.1 )/)
    expect(slow).toMatch(/^HTTP\/1\.1 200 /)
    expect(slow).toMatch(/\{"done":true\}$/)
    expect(refused).toMatch(/^HTTP\/1\.1 503 /)
    expect(refused).toMatch(/content-type: application\/problem\+json/i)
    expect(refused).toMatch(/connection: close/i)
    expect(refused).toMatch(/retry-after: 3/i)
    expect(JSON.parse(refused!.slice(refused!.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
    expect(app.server.listening).toBe(false)
  })

  test('cuts what is still running at the deadline and says so', async () => {
    const { app, port, inHandler } = await slowApp(t.db)
    const exchange = rawExchange(port, get('/slow'), new Promise(() => {}))
    await inHandler
    const started = Date.now()
    expect(await closeGracefully(app, { deadlineMs: 300 })).toEqual({ drained: false, cutRequests: 1 })
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(await exchange).toBe('') // cut: no partial response
  })

  test('calling it twice shares one shutdown; without the plugin it says what is missing', async () => {
    const { app } = await slowApp(t.db)
    const first = closeGracefully(app)
    expect(closeGracefully(app)).toBe(first)
    await first
    expect(() => closeGracefully(Fastify())).toThrow(/needs the `fastkit` plugin/)
  })
})
