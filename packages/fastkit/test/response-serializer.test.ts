import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { createDatabase, fastkit } from '../src/index.js'
import { compileResponseSerializer } from '../src/http/response-serializer.js'

/** What fastify-type-provider-zod sends for `data` (fastkit's serializer before it compiled them). */
const viaZod = (schema: z.ZodType, data: unknown) => JSON.stringify(z.encode(schema, data as never))

const UserRead = z.object({ id: z.uuid(), username: z.string(), createdAt: z.date() }).meta({ id: 'User' })
const MessageRead = z.object({
  id: z.uuid(),
  chatId: z.uuid(),
  senderId: z.uuid(),
  text: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
  editedAt: z.date().nullable(),
})
const Page = z.object({ items: z.array(MessageRead), nextCursor: z.string().nullable(), total: z.number().int().optional() })
const Problem = z.object({
  type: z.string(),
  status: z.number().int().min(400).max(599),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
})
const Mixed = z.object({
  b: z.string().optional(),
  a: z.boolean(),
  kind: z.enum(['one', 'two']),
  tag: z.literal('x'),
  score: z.number(),
  extra: z.unknown(),
  nothing: z.null(),
  nested: z.object({ at: z.date() }).nullable(),
})

const id = '0b6f3a52-8d8e-4a55-9a1b-3c2d4e5f6a7b'
const at = new Date('2026-01-02T03:04:05.678Z')
const message = { id, chatId: id, senderId: id, text: 'hé "quoted" \\ \n \u2028 \ud800', createdAt: at, updatedAt: at, editedAt: null }

describe('compiled response serializer', () => {
  test('writes exactly what zod + JSON.stringify write, for every kind it compiles', () => {
    const cases: [z.ZodType, unknown][] = [
      [UserRead, { id, username: 'ann', createdAt: at }],
      [MessageRead, message],
      [MessageRead, { ...message, editedAt: new Date(0) }],
      [Page, { items: [message, { ...message, text: '' }], nextCursor: 'abc' }],
      [Page, { items: [], nextCursor: null, total: 0 }],
      [Problem, { type: 'about:blank', status: 404 }],
      [Problem, { type: 'about:blank', status: 400, errors: [{ path: 'body.text', message: 'too long' }] }],
      [Mixed, { b: 'b', a: true, kind: 'two', tag: 'x', score: -1.5e21, extra: { deep: [1, at] }, nothing: null, nested: { at } }],
      [Mixed, { a: false, kind: 'one', tag: 'x', score: 0, extra: undefined, nothing: null, nested: null }],
      [Mixed, { b: undefined, a: false, kind: 'one', tag: 'x', score: -0, extra: () => 1, nothing: null, nested: null }],
      [z.object({ e: z.unknown().optional(), b: z.string().optional(), a: z.string() }), { a: '1', b: '2', e: 3 }],
      [z.object({ e: z.unknown().optional(), a: z.string() }), { a: '1' }],
      [z.array(z.unknown()), [1, undefined, () => 1, at]],
      [z.unknown(), { any: 'thing', at }],
    ]
    for (const [schema, data] of cases) {
      const serialize = compileResponseSerializer(schema)
      expect(serialize, 'the schema compiles').toBeTypeOf('function')
      expect(serialize!(data)).toBe(viaZod(schema, data))
    }
  })

  test('every UTF-16 code unit, alone and in surrogate pairs, is quoted exactly as JSON.stringify quotes it', () => {
    const serialize = compileResponseSerializer(z.object({ s: z.string() }))!
    for (let unit = 0; unit <= 0xffff; unit++) {
      const text = `a${String.fromCharCode(unit)}b`
      expect(serialize({ s: text })).toBe(JSON.stringify({ s: text }))
    }
    for (const text of ['', '😀', 'x😀"y', '\ud83d\ude00\\', '\udc00\ud800', 'plain text, no escapes']) {
      expect(serialize({ s: text })).toBe(JSON.stringify({ s: text }))
    }
    // Formats whose alphabet needs no escaping are quoted without the escape test; others keep it.
    const formats = compileResponseSerializer(z.object({ u: z.uuid(), b: z.base64url(), e: z.email() }))!
    const data = { u: id, b: 'AbC-_09', e: 'ann@example.com' }
    expect(formats(data)).toBe(viaZod(z.object({ u: z.uuid(), b: z.base64url(), e: z.email() }), data))
  })

  test('a column not in the read schema never leaves, and dates are ISO strings', () => {
    const serialize = compileResponseSerializer(UserRead)!
    const row = { id, username: 'ann', createdAt: at, passwordHash: '$argon2id$secret', nested: { passwordHash: 'x' } }
    const text = serialize(row)
    expect(text).toBe(`{"id":"${id}","username":"ann","createdAt":"2026-01-02T03:04:05.678Z"}`)
    expect(text).not.toContain('argon2')
    expect(text).toBe(viaZod(UserRead, row))
  })

  test('data that does not match is refused, as zod refuses it', () => {
    const serialize = compileResponseSerializer(MessageRead)!
    const bad = [
      { ...message, id: 'not-a-uuid' },
      { ...message, createdAt: '2026-01-02T03:04:05.678Z' },
      { ...message, createdAt: new Date(Number.NaN) },
      { ...message, editedAt: undefined },
      { ...message, text: 5 },
      null,
      [message],
    ]
    expect(() => compileResponseSerializer(Mixed)!({ a: false, kind: 'one', tag: 'x', score: 0, nothing: null, nested: null })).toThrow()
    for (const data of bad) {
      expect(() => serialize(data)).toThrow()
      expect(() => viaZod(MessageRead, data)).toThrow()
    }
    expect(() => compileResponseSerializer(Problem)!({ type: 'x', status: 200 })).toThrow()
    expect(() => compileResponseSerializer(Problem)!({ type: 'x', status: 404.5 })).toThrow()
  })

  test('schemas with transforms, refinements or lengths are left to zod', () => {
    expect(compileResponseSerializer(z.object({ name: z.string().trim() }))).toBeUndefined()
    expect(compileResponseSerializer(z.object({ name: z.string().max(3) }))).toBeUndefined()
    expect(compileResponseSerializer(z.strictObject({ name: z.string() }))).toBeUndefined()
    expect(compileResponseSerializer(z.object({ n: z.number().multipleOf(2) }))).toBeUndefined()
    expect(compileResponseSerializer(z.object({ n: z.string().transform((s) => s.length) }))).toBeUndefined()
  })
})

/** The same guarantees through a fastkit app: the plugin installs the compiled serializer for routes. */
describe('responses of a fastkit app', () => {
  const db = createDatabase('memory://')
  let app: FastifyInstance

  beforeAll(async () => {
    app = Fastify()
    await app.register(fastkit, { db })
    const typed = app.withTypeProvider<ZodTypeProvider>()
    const row = { id, username: 'ann', createdAt: at, passwordHash: '$argon2id$secret' }
    typed.get('/user', { schema: { response: { 200: UserRead } } }, async () => row)
    typed.get('/broken', { schema: { response: { 200: UserRead } } }, async () => ({ ...row, createdAt: 'yesterday' }) as never)
    typed.get('/trimmed', { schema: { response: { 200: z.object({ name: z.string().trim() }) } } }, async () => ({ name: ' ann ', secret: 1 }))
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await db.destroy()
  })

  test('an extra column never leaves and the Date is the ISO string zod would send', async () => {
    const response = await app.inject({ method: 'GET', url: '/user' })
    expect(response.statusCode).toBe(200)
    expect(response.body).toBe(`{"id":"${id}","username":"ann","createdAt":"2026-01-02T03:04:05.678Z"}`)
  })

  test('a response that fails its schema is still a 500 problem, not sent', async () => {
    const response = await app.inject({ method: 'GET', url: '/broken' })
    expect(response.statusCode).toBe(500)
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(response.body).not.toContain('argon2')
  })

  test('a schema the compiler leaves alone still goes through zod (trimmed, filtered)', async () => {
    const response = await app.inject({ method: 'GET', url: '/trimmed' })
    expect(response.json()).toEqual({ name: 'ann' })
  })
})
