import { beforeAll, describe, expect, test } from 'vitest'
import SwaggerParser from '@apidevtools/swagger-parser'
import { createDatabase, MemoryTransport } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import { buildApp } from '../src/app.js'
import type { DB } from '../src/db/schema.js'
import { expectProblem, testConfig, useChatApp } from './support/chat-app.js'

describe.each(dialectsUnderTest())('health, readiness, OpenAPI and Swagger UI on %s', (kind) => {
  const t = useChatApp(kind)
  let doc: Record<string, any>

  beforeAll(async () => {
    const res = await t.inject('/openapi.json')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/application\/json/)
    doc = res.json()
  })

  test('GET /health is 200 { status: "ok" }', async () => {
    const res = await t.inject('/health')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  test('GET /ready is 200 when the database answers', async () => {
    const res = await t.inject('/ready')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  test('GET /ready is a 503 problem when the database does not answer, while /health stays 200', async () => {
    // A PostgreSQL URL where nothing listens: connecting fails fast.
    const url = 'postgres://postgres@127.0.0.1:1/nothing'
    const db = createDatabase<DB>({ url, pool: { connectionTimeoutMs: 1_000 } })
    const app = await buildApp({ config: testConfig(url), db, transport: new MemoryTransport() })
    try {
      expectProblem(await app.inject('/ready'), 503, 'SERVICE_UNAVAILABLE')
      expect((await app.inject('/health')).statusCode).toBe(200)
    } finally {
      await app.close()
      await db.destroy()
    }
  })

  test('GET /openapi.json passes a standard OpenAPI validator', async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined()
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.info).toMatchObject({ title: 'fastkit chat example', version: '1.0.0' })
  })

  test('the document describes every route of the API', () => {
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /auth/register',
        'POST /auth/login',
        'POST /auth/refresh',
        'POST /auth/logout',
        'GET /auth/me',
        'POST /auth/protected',
        'GET /users',
        'GET /users/{id}',
        'POST /chats',
        'GET /chats',
        'GET /chats/{id}',
        'PATCH /chats/{id}',
        'DELETE /chats/{id}',
        'GET /chats/{id}/members',
        'POST /chats/{id}/members',
        'DELETE /chats/{id}/members/{userId}',
        'POST /messages',
        'GET /messages',
        'GET /messages/{id}',
        'PATCH /messages/{id}',
        'DELETE /messages/{id}',
        'GET /health',
        'GET /ready',
      ]),
    )
    // No route the API does not have.
    expect(operations).not.toContain('PUT /chats/{id}')
    expect(operations).not.toContain('PUT /messages/{id}')
  })

  test('operations carry request and response schemas, and problem responses', () => {
    const post = doc.paths['/messages'].post
    expect(post.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['chatId', 'text']))
    const created = post.responses['201'].content['application/json'].schema
    const message = created.$ref ? doc.components.schemas[created.$ref.split('/').pop()] : created
    expect(Object.keys(message.properties).sort()).toEqual(['chatId', 'createdAt', 'editedAt', 'id', 'senderId', 'text', 'updatedAt'])
    expect(post.responses['4XX'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' })
    const list = doc.paths['/messages'].get
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['chatId', 'limit', 'cursor', 'after']))
    expect(list.parameters.find((p: { name: string }) => p.name === 'chatId').required).toBe(true)
    expect(Object.keys(doc.paths['/auth/login'].post.requestBody.content).sort()).toEqual(['application/json', 'application/x-www-form-urlencoded'])
    // No schema ever exposes the password hash.
    expect(JSON.stringify(doc)).not.toMatch(/passwordHash|password_hash/)
  })

  test('responses are described, errors are problem+json with a sane example, and no schema is listed twice', () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [code, response] of Object.entries(operation.responses as Record<string, any>)) {
          const at = `${method.toUpperCase()} ${path} ${code}`
          expect(response.description, at).not.toBe('Default Response')
          expect(response.description, at).toMatch(/\w/)
          if (!/^[45]/.test(code)) continue
          expect(Object.keys(response.content), at).toEqual(['application/problem+json'])
          const { example } = response.content['application/problem+json']
          expect(example.status, at).toBeGreaterThanOrEqual(400)
          expect(example.status, at).toBeLessThan(600)
          expect(example, at).toMatchObject({ type: 'about:blank', title: expect.any(String), code: expect.any(String) })
        }
      }
    }
    expect(doc.paths['/auth/login'].post.responses['429'].description).toMatch(/Retry-After/)
    const names = Object.keys(doc.components.schemas)
    expect(names.filter((n) => n.endsWith('Input'))).toEqual([])
  })

  test("a failed login through Swagger's Authorize (the password-flow form) gives the server's reason in OAuth2's fields", async () => {
    const u = await t.user('oauthfail')
    const res = await t.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: u.username, password: 'wrong password' }).toString(),
    })
    expectProblem(res, 401, 'UNAUTHORIZED')
    expect(res.json()).toMatchObject({ error: 'invalid_grant', error_description: 'Invalid username or password', detail: 'Invalid username or password' })
  })

  test('protected routes declare bearer security; public ones do not', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    for (const [path, method] of [['/chats', 'post'], ['/messages', 'get'], ['/users/{id}', 'get'], ['/auth/me', 'get'], ['/auth/logout', 'post']]) {
      expect(doc.paths[path!][method!].security, `${method} ${path}`).toEqual(expect.arrayContaining([{ bearerAuth: [] }]))
    }
    for (const [path, method] of [['/auth/register', 'post'], ['/auth/login', 'post'], ['/auth/refresh', 'post'], ['/health', 'get']]) {
      expect(doc.paths[path!][method!].security, `${method} ${path}`).toBeUndefined()
    }
  })

  test('GET /docs serves Swagger UI', async () => {
    const docs = await t.inject('/docs')
    if (docs.statusCode === 302) expect(docs.headers.location).toMatch(/\/docs\/?$/)
    const page = await t.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.body).toMatch(/swagger-ui/i)
    // The chat's name in the browser tab (and, as an image, in the top bar), not "Swagger UI".
    expect(page.body).toMatch(/<title>fastkit chat example<\/title>/)
    const script = /src="([^"]*swagger-initializer\.js)"/.exec(page.body)?.[1]
    expect(script).toBeDefined()
    const init = await t.inject(new URL(script!, 'http://localhost/docs/').pathname)
    expect(init.statusCode).toBe(200)
    expect(init.body).toMatch(/SwaggerUIBundle/)
    // The UI loads the same document as /openapi.json.
    expect((await t.inject('/docs/json')).json()).toEqual(doc)
  })

  test("the document's OAuth2 password flow yields a token that opens protected routes", async () => {
    const u = await t.user('oauth')
    const tokenUrl: string = doc.components.securitySchemes.oauth2.flows.password.tokenUrl
    expect(tokenUrl).toBe('/auth/login')
    // What Swagger UI's Authorize button sends.
    const res = await t.inject({
      method: 'POST',
      url: tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      payload: new URLSearchParams({ grant_type: 'password', username: u.username, password: u.password, scope: '' }).toString(),
    })
    expect(res.statusCode).toBe(200)
    const { access_token: token, token_type: type } = res.json()
    expect(type).toBe('bearer')
    const me = await t.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } })
    expect(me.json()).toMatchObject({ id: u.id, username: u.username })
    const created = await t.inject({ method: 'POST', url: '/chats', headers: { authorization: `Bearer ${token}` }, payload: { name: 'via swagger' } })
    expect(created.statusCode).toBe(201)
    expect(created.json().ownerId).toBe(u.id)
  })
})
