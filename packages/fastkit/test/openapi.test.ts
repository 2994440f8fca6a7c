import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import SwaggerParser from '@apidevtools/swagger-parser'
import { openapi } from '../src/index.js'
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
      await app.register(openapi, { title: 'Items', version: '1.2.3', tokenUrl: '/auth/login' })
      await app.register(new ItemRouter({ auth: true, routes: { get: { auth: false } } }).plugin)
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
    expect(post.responses['4XX'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Problem' })
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

  test('serves Swagger UI at /docs', async () => {
    const res = await app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/text\/html/)
    expect(res.body).toMatch(/swagger/i)
  })
})
