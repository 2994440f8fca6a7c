import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import SwaggerParser from '@apidevtools/swagger-parser'
import formbody from '@fastify/formbody'
import { z } from 'zod'
import { fastkitOpenApi, ProblemSchema, UnauthorizedError } from '../src/index.js'
import { buildTestApp } from './support/app.js'
import { useTestDatabase } from './support/harness.js'
import { ItemRouter } from './support/item-resource.js'

describe('OpenAPI document and Swagger UI', () => {
  // The document does not depend on the database; PGlite keeps this test server-free.
  const t = useTestDatabase('pglite')
  let app: FastifyInstance
  let doc: Record<string, any>
  beforeAll(async () => {
    app = await buildTestApp(t.db, async (app) => {
      await app.register(fastkitOpenApi, { title: 'Items', version: '1.2.3', tokenUrl: '/auth/login' })
      await app.register(new ItemRouter({ auth: true }, { auth: false }).plugin)
      // A token endpoint at the tokenUrl: the password flow's form, refusing everyone.
      await app.register(formbody)
      app.post('/auth/login', { schema: { hide: true, body: z.object({ username: z.string().min(1), password: z.string().min(1) }) } }, async () => {
        throw new UnauthorizedError('Invalid username or password')
      })
    })
    doc = (await app.inject('/openapi.json')).json()
  })
  afterAll(() => app.close())

  test('passes a standard OpenAPI validator', async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined()
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toMatchObject({ title: 'Items', version: '1.2.3' })
  })

  test('documents every generated route with request and response schemas', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(['/items', '/items/{id}'])
    expect(Object.keys(doc.paths['/items']).sort()).toEqual(['get', 'post'])
    expect(Object.keys(doc.paths['/items/{id}']).sort()).toEqual(['delete', 'get', 'patch', 'put'])
    const post = doc.paths['/items'].post
    expect(post.requestBody.content['application/json'].schema.required).toEqual(['name', 'qty'])
    expect(post.responses['201'].content['application/json'].schema.properties).toHaveProperty('createdAt')
    expect(post.responses['4XX'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' })
    expect(doc.components.schemas.Problem.properties).toHaveProperty('code')
    const list = doc.paths['/items'].get
    const params = list.parameters.map((p: { name: string }) => p.name)
    expect(params).toEqual(expect.arrayContaining(['limit', 'cursor', 'sort', 'count', 'qty', 'qty[gte]', 'name[contains]']))
    expect(doc.paths['/items/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true })
  })

  test('declares bearer and OAuth2 password-flow security on protected routes only', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe('/auth/login')
    expect(doc.paths['/items'].post.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }])
    expect(doc.paths['/items/{id}'].get.security).toBeUndefined()
  })

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ at: `${method.toUpperCase()} ${path}`, operation })),
    )

  test('every response has a real description, never "Default Response"', () => {
    for (const { at, operation } of operations()) {
      for (const [code, response] of Object.entries(operation.responses as Record<string, { description: string }>)) {
        expect(response.description, `${at} ${code}`).toMatch(/\w/)
        expect(response.description, `${at} ${code}`).not.toBe('Default Response')
      }
    }
    expect(doc.paths['/items'].post.responses['201'].description).toBe('Created')
    expect(doc.paths['/items/{id}'].delete.responses['204'].description).toMatch(/no content/i)
    expect(doc.paths['/items'].post.responses['4XX'].description).toMatch(/problem/)
  })

  test('error responses are application/problem+json with an example a client could receive', () => {
    let errors = 0
    for (const { at, operation } of operations()) {
      for (const [code, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (!/^[45]/.test(code)) continue
        errors++
        expect(Object.keys(response.content), `${at} ${code}`).toEqual(['application/problem+json'])
        const { schema, example } = response.content['application/problem+json']
        expect(schema).toEqual({ $ref: '#/components/schemas/Problem' })
        expect(ProblemSchema.parse(example), `${at} ${code}`).toEqual(example)
        if (code === '4XX') expect(example.status).toBeGreaterThanOrEqual(400)
        if (code === '4XX') expect(example.status).toBeLessThan(500)
        else if (/^\d+$/.test(code)) expect(example.status).toBe(Number(code))
      }
    }
    expect(errors).toBeGreaterThanOrEqual(6)
    // What Swagger UI generates from the schema alone is an error status too.
    expect(doc.components.schemas.Problem.properties.status).toMatchObject({ type: 'integer', minimum: 400, maximum: 599 })
  })

  test('registered schemas appear once: no unreferenced …Input twins', () => {
    const names = Object.keys(doc.components.schemas)
    expect(names).toContain('Problem')
    expect(names.filter((n) => n.endsWith('Input') && names.includes(n.slice(0, -5)))).toEqual([])
  })

  test('a failed login at the tokenUrl answers in the OAuth2 shape as well as problem+json', async () => {
    const form = (payload: string) =>
      app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload })
    const refused = await form('grant_type=password&username=alice&password=wrong')
    expect(refused.statusCode, refused.body).toBe(401)
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/)
    expect(refused.json()).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'Invalid username or password',
      code: 'UNAUTHORIZED',
      error: 'invalid_grant',
      error_description: 'Invalid username or password',
    })
    const invalid = await form('username=alice')
    expect(invalid.statusCode).toBe(400)
    expect(invalid.json()).toMatchObject({ code: 'VALIDATION_FAILED', error: 'invalid_request', error_description: expect.stringMatching(/\w/) })
    // Other routes keep the plain problem shape.
    const other = await app.inject({ method: 'POST', url: '/items', payload: {} })
    expect(other.statusCode).toBe(400)
    expect(other.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
    expect(other.json()).not.toHaveProperty('error')
  })

  test('Swagger UI shows the API\'s title in its top bar and asks only for a username and password', async () => {
    const html = (await app.inject('/docs/')).body
    expect(html).toMatch(/<title>Items<\/title>/)
    expect(html).toMatch(/theme\/fastkit\.css/)
    const initializer = (await app.inject('/docs/static/swagger-initializer.js')).body
    const logo = /data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(initializer)?.[1]
    expect(logo).toBeDefined()
    const svg = Buffer.from(logo!, 'base64').toString()
    expect(svg).toMatch(/<text[^>]*>Items<\/text>/)
    const css = await app.inject('/docs/static/theme/fastkit.css')
    expect(css.statusCode).toBe(200)
    for (const field of ['password_type', 'client_id_', 'client_secret_']) expect(css.body).toContain(field)
    expect(css.body).toMatch(/display:\s*none/)
  })

  test('serves Swagger UI at /docs', async () => {
    const res = await app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/text\/html/)
    expect(res.body).toMatch(/swagger/i)
  })
})
