import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { createDatabase, fastkit, serverOptions } from '../src/index.js'

/** Raw HTTP/1.1 exchange over a real socket: what Node answers before Fastify ever sees a request. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(data) : reject(error)))
    socket.on('close', () => resolve(data))
    socket.write(request)
  })
}

interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

function parseRaw(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4) }
}

type Case = readonly [name: string, status: number, code: string, send: () => Promise<RawResponse>]

/**
 * Every error a client can provoke at the HTTP layer, whoever answers it (Node's parser, Fastify's
 * router and body parser, or fastkit), is application/problem+json with a stable code. No database is
 * touched: the embedded one is never started.
 */
describe('every HTTP error is problem+json', () => {
  const db = createDatabase('memory://')
  let app: FastifyInstance
  let port: number

  beforeAll(async () => {
    app = Fastify(serverOptions({ bodyLimit: 1_024, routerOptions: { maxParamLength: 100 } }))
    await app.register(fastkit, { db, maxUrlLength: 2_048 })
    const typed = app.withTypeProvider<ZodTypeProvider>()
    typed.post('/things', { schema: { body: z.object({ name: z.string() }) } }, async (request) => ({ name: request.body.name }))
    typed.get('/things/:id', { schema: { params: z.object({ id: z.string() }) } }, async (request) => ({ id: request.params.id }))
    typed.delete('/things/:id', { schema: { params: z.object({ id: z.string() }) } }, async () => null)
    await app.register(
      async (child) => {
        child.get('/ping', async () => ({ pong: true }))
      },
      { prefix: '/nested' },
    )
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as AddressInfo).port
  })
  afterAll(async () => {
    await app.close()
    await db.destroy()
  })

  const inject = (options: InjectOptions) => async (): Promise<RawResponse> => {
    const res = await app.inject(options)
    return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body }
  }
  const raw = (request: string) => async () => parseRaw(await exchange(port, request))
  const json = { 'content-type': 'application/json' }

  const cases: Case[] = [
    ['an unknown path', 404, 'NOT_FOUND', inject({ method: 'GET', url: '/nothing/here' })],
    ['a wrong method on a known path', 405, 'METHOD_NOT_ALLOWED', inject({ method: 'PUT', url: '/things/42', headers: json, payload: '{}' })],
    ['a wrong method on a static path', 405, 'METHOD_NOT_ALLOWED', inject({ method: 'GET', url: '/things' })],
    ['a wrong method on a prefixed path', 405, 'METHOD_NOT_ALLOWED', inject({ method: 'POST', url: '/nested/ping' })],
    ['a body over bodyLimit', 413, 'PAYLOAD_TOO_LARGE', inject({ method: 'POST', url: '/things', headers: json, payload: JSON.stringify({ name: 'x'.repeat(2_000) }) })],
    ['a path parameter over maxParamLength', 414, 'URI_TOO_LONG', inject({ method: 'GET', url: `/things/${'x'.repeat(101)}` })],
    ['a URL over maxUrlLength', 414, 'URI_TOO_LONG', inject({ method: 'GET', url: `/things/1?q=${'x'.repeat(2_100)}` })],
    ['a text/plain body on a JSON route', 415, 'UNSUPPORTED_MEDIA_TYPE', inject({ method: 'POST', url: '/things', headers: { 'content-type': 'text/plain' }, payload: 'name=x' })],
    ['an XML body', 415, 'UNSUPPORTED_MEDIA_TYPE', inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/xml' }, payload: '<x/>' })],
    ['JSON declared as latin1', 415, 'UNSUPPORTED_MEDIA_TYPE', inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json; charset=latin1' }, payload: '{"name":"x"}' })],
    ['JSON declared as UTF-16 (quoted)', 415, 'UNSUPPORTED_MEDIA_TYPE', inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json;charset="utf-16"' }, payload: '{"name":"x"}' })],
    ['a malformed URL (GET /%)', 400, 'BAD_REQUEST', inject({ method: 'GET', url: '/%' })],
    ['a malformed URL in a parameter', 400, 'BAD_REQUEST', inject({ method: 'GET', url: '/things/%E0%A4%A' })],
    ['malformed JSON', 400, 'BAD_REQUEST', inject({ method: 'POST', url: '/things', headers: json, payload: '{"name":' })],
    ['a NUL in a body string', 400, 'VALIDATION_FAILED', inject({ method: 'POST', url: '/things', headers: json, payload: '{"name":"a\\u0000b"}' })],
    ['a lone surrogate in a body string', 400, 'VALIDATION_FAILED', inject({ method: 'POST', url: '/things', headers: json, payload: '{"name":"a\\ud800b"}' })],
    ['a NUL in a path parameter', 400, 'VALIDATION_FAILED', inject({ method: 'GET', url: '/things/a%00b' })],
    ['a NUL in a query string', 400, 'VALIDATION_FAILED', inject({ method: 'GET', url: '/things/1?q=%00' })],
    // Answered by Node's HTTP parser (clientError), so over a real socket.
    ['a malformed request line', 400, 'BAD_REQUEST', raw('HELLO WORLD\r\n\r\n')],
    ['a malformed header', 400, 'BAD_REQUEST', raw('GET /things/1 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')],
    ['headers over maxHeaderSize', 431, 'HEADERS_TOO_LARGE', raw(`GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`)],
    ['a request line over maxHeaderSize', 431, 'HEADERS_TOO_LARGE', raw(`GET /things/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)],
  ]

  test.each(cases)('%s → %i %s', async (_name, status, code, send) => {
    const res = await send()
    expect(res.status, res.body).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    const problem = JSON.parse(res.body) as Record<string, unknown>
    expect(problem).toMatchObject({ type: 'about:blank', status, code, title: expect.any(String), detail: expect.any(String) })
  })

  test('a 405 lists the methods the path takes in Allow', async () => {
    const res = await app.inject({ method: 'PATCH', url: '/things/42' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('DELETE, GET, HEAD')
    expect(res.json().detail).toContain('PATCH')
  })

  test('the fields named are those that hold unstorable text', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', headers: json, payload: '{"name":"ok","tags":["fine","x\\u0000"],"n\\u0000":1}' })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toEqual([
      { path: 'body.tags.1', message: expect.stringContaining('NUL') },
      { path: 'body', message: expect.stringContaining('key') },
    ])
  })

  test('what is fine still works: UTF-8 JSON (declared or not), valid surrogate pairs, known methods', async () => {
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"']) {
      const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': contentType }, payload: '{"name":"\\ud83d\\ude00 ok"}' })
      expect(res.statusCode, contentType).toBe(200)
      expect(res.json()).toEqual({ name: '😀 ok' })
    }
    expect((await app.inject({ method: 'HEAD', url: '/things/1' })).statusCode).toBe(200)
    // A charset on a request without a body has nothing to decode.
    expect((await app.inject({ method: 'GET', url: '/things/1', headers: { 'content-type': 'application/json; charset=latin1' } })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/nested/ping' })).json()).toEqual({ pong: true })
  })
})

test('serverOptions(overrides): the app’s own options on top, http merged key by key, the rest kept', async () => {
  const app = Fastify(serverOptions({ keepAliveTimeout: 2_000, http: { headersTimeout: 5_000 } }))
  try {
    await app.ready()
    expect(app.server.keepAliveTimeout).toBe(2_000)
    expect(app.server.headersTimeout).toBe(5_000)
    // Not overridden: fastkit's timeouts and its problem+json answers stay.
    expect(app.server.requestTimeout).toBe(serverOptions().requestTimeout)
    expect(app.server.timeout).toBe(serverOptions().connectionTimeout)
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 400 [\s\S]*application\/problem\+json/)
  } finally {
    await app.close()
  }
})

test('a request that takes longer than requestTimeout to arrive gets a 408 problem from Node', async () => {
  const db = createDatabase('memory://')
  // Node checks request deadlines every connectionsCheckingInterval (30 s by default): shortened here.
  const app = Fastify(
    serverOptions({
      requestTimeout: 200,
      serverFactory: (handler) => createServer({ requestTimeout: 200, connectionsCheckingInterval: 50 }, handler),
    }),
  )
  await app.register(fastkit, { db })
  app.post('/things', async () => ({ ok: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  try {
    // Headers promise ten bytes; only one ever comes.
    const res = parseRaw(await exchange(port, 'POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{'))
    expect(res.status).toBe(408)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(res.body)).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' })
  } finally {
    await app.close()
    await db.destroy()
  }
})

describe('while the server closes', () => {
  test('a request arriving on an open connection gets a 503 problem with Connection: close; the one in flight completes', async () => {
    const db = createDatabase('memory://')
    const app = Fastify(serverOptions())
    await app.register(fastkit, { db })
    let entered!: () => void
    const slowEntered = new Promise<void>((resolve) => (entered = resolve))
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    app.get('/slow', async () => {
      entered()
      await released
      return { done: true }
    })
    app.get('/fast', async () => ({ fast: true }))
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo

    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (data += chunk))
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
    await slowEntered
    const closed = app.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((resolve) => setTimeout(resolve, 50))
    release()
    await ended
    await closed
    await db.destroy()

    const [first, second] = data.split(/(?=HTTP\/1\.1 )/).map(parseRaw)
    expect(first!.status).toBe(200)
    expect(JSON.parse(first!.body)).toEqual({ done: true })
    expect(second!.status).toBe(503)
    expect(second!.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(second!.headers.connection).toBe('close')
    expect(JSON.parse(second!.body)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
  })
})
