import { readFile } from 'node:fs/promises'
import { describe, expect, test } from 'vitest'
import { API_TYPES_FILE, generateApiTypes } from '../web/tools/api-types.js'

// The web client's typed API client is generated from the server's OpenAPI document and committed.
// This fails as soon as a route or schema changes without regenerating it.
describe('the web client API types', () => {
  test('web/src/api/schema.ts is what openapi-typescript makes of the current OpenAPI document', async () => {
    const committed = await readFile(API_TYPES_FILE, 'utf8')
    const current = await generateApiTypes()
    expect(committed === current, 'out of date: run `pnpm --filter chat-example generate:api` and commit web/src/api/schema.ts').toBe(true)
  })
})
