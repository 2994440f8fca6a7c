import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { createDatabase, fastkit, NotFoundError, RateLimitedError, UnauthorizedError } from '../src/index.js'

interface LogLine {
  level: number
  msg: string
  code?: string
  err?: { message: string; stack?: string }
}

/**
 * No route here touches the database, and a unit of work only connects on its first statement, so
 * the embedded database is never even started: these tests are about HTTP alone.
 */
describe('errors as problem+json', () => {
  const db = createDatabase('memory://')
  const logs: LogLine[] = []
  let app: FastifyInstance

  beforeAll(async () => {
    app = Fastify({
      bodyLimit: 1_024,
      logger: { level: 'info', stream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } },
    })
    await app.register(fastkit, { db })
    const typed = app.withTypeProvider<ZodTypeProvider>()
    app.post('/echo', async (request) => ({ got: request.body }))
    typed.post(
      '/typed',
      { schema: { body: z.object({ name: z.string().min(1), tags: z.array(z.string()).max(2) }), querystring: z.object({ n: z.coerce.number().int() }) } },
      async (request) => ({ name: request.body.name, n: request.query.n }),
    )
    app.get('/crash', async () => {
      throw new Error('secret internals: password=hunter2 at /srv/app.ts:12')
    })
    app.get('/not-found', async () => {
      throw new NotFoundError('Chat not found')
    })
    app.get('/unauthorized', async () => {
      throw new UnauthorizedError()
    })
    app.get('/rate-limited', async () => {
      throw new RateLimitedError(1.2)
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await db.destroy()
  })
  beforeEach(() => {
    logs.length = 0
  })

  const problemOf = (res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number) => {
    expect(res.statusCode).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    const body = res.json() as { type: string; title: string; status: number; detail: string; code: string }
    expect(body).toMatchObject({ type: 'about:blank', status, title: expect.any(String), detail: expect.any(String) })
    return body
  }

  test('malformed JSON → 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"name": ' })
    expect(problemOf(res, 400)).toMatchObject({ title: 'Bad Request', code: 'BAD_REQUEST' })
  })

  test('an empty JSON body → 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '' })
    expect(problemOf(res, 400)).toMatchObject({ code: 'BAD_REQUEST' })
  })

  test('a body over the limit → 413', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', payload: { blob: 'x'.repeat(2_000) } })
    expect(problemOf(res, 413)).toMatchObject({ title: 'Payload Too Large', code: 'PAYLOAD_TOO_LARGE' })
  })

  test('an unsupported media type → 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/xml' }, payload: '<a/>' })
    expect(problemOf(res, 415)).toMatchObject({ title: 'Unsupported Media Type', code: 'UNSUPPORTED_MEDIA_TYPE' })
  })

  test('an unknown route → 404 naming it (without the query string)', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere?token=secret' })
    expect(problemOf(res, 404)).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      code: 'NOT_FOUND',
      detail: 'Route GET /nowhere not found',
    })
  })

  test('schema validation → 400 with one issue per field, paths prefixed by the request part', async () => {
    const res = await app.inject({ method: 'POST', url: '/typed?n=1', payload: { name: '', tags: ['a', 'b', 'c'] } })
    const body = problemOf(res, 400) as ReturnType<typeof problemOf> & { errors: { path: string; message: string }[] }
    expect(body.code).toBe('VALIDATION_FAILED')
    expect(body.errors.map((e) => e.path).sort()).toEqual(['body.name', 'body.tags'])
    const query = problemOf(await app.inject({ method: 'POST', url: '/typed?n=x', payload: { name: 'a', tags: [] } }), 400)
    expect(query).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'querystring.n', message: expect.any(String) }] })
    expect((await app.inject({ method: 'POST', url: '/typed?n=2', payload: { name: 'a', tags: [] } })).json()).toEqual({ name: 'a', n: 2 })
  })

  test('a thrown plain Error → 500 without internals, and it is logged with its stack', async () => {
    const res = await app.inject({ method: 'GET', url: '/crash' })
    expect(problemOf(res, 500)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      code: 'INTERNAL',
      detail: 'Internal server error',
    })
    expect(res.payload).not.toMatch(/secret|hunter2|srv|stack|Error:/)
    const logged = logs.find((line) => line.level === 50 && line.err?.message.includes('hunter2'))
    expect(logged).toBeDefined()
    expect(logged!.err!.stack).toMatch(/crash|errors\.test/)
  })

  test('fastkit errors keep their status, code, message and headers; 4xx are logged at info', async () => {
    expect(problemOf(await app.inject('/not-found'), 404)).toMatchObject({ code: 'NOT_FOUND', detail: 'Chat not found' })
    const unauthorized = await app.inject('/unauthorized')
    expect(problemOf(unauthorized, 401)).toMatchObject({ code: 'UNAUTHORIZED', detail: 'Authentication required' })
    expect(unauthorized.headers['www-authenticate']).toBe('Bearer')
    const limited = await app.inject('/rate-limited')
    expect(problemOf(limited, 429)).toMatchObject({ code: 'RATE_LIMITED' })
    expect(limited.headers['retry-after']).toBe('2')
    expect(logs.filter((line) => line.level >= 50)).toEqual([])
    expect(logs).toContainEqual(expect.objectContaining({ level: 30, code: 'NOT_FOUND', msg: 'Chat not found' }))
  })
})
