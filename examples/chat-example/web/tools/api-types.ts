import openapiTS, { astToString } from 'openapi-typescript'
import { MemoryTransport } from 'fastkit'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/database.js'

/** Where the generated types live (committed; the web client imports them). */
export const API_TYPES_FILE = new URL('../src/api/schema.ts', import.meta.url)

const HEADER = `// Generated from the chat's OpenAPI document by openapi-typescript. Do not edit by hand:
// regenerate with \`pnpm --filter chat-example generate:api\` after changing a route or schema.
// test/web-api-types.test.ts fails while this file differs from what the server describes.

`

/**
 * The TypeScript types of the chat's current OpenAPI document: the app is built (on an in-memory
 * PGlite, no migrations needed since nothing is queried) and asked for `app.swagger()`.
 */
export async function generateApiTypes(): Promise<string> {
  const db = openDatabase('memory://')
  const app = await buildApp({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: 'memory://',
      dataDir: '.',
      redisUrl: undefined,
      jwtSecret: 'x'.repeat(48),
      jwtSecretSource: 'env',
      production: false,
      allowedOrigins: [],
    },
    db,
    transport: new MemoryTransport(),
  })
  try {
    await app.ready()
    const document = app.swagger() as Parameters<typeof openapiTS>[0]
    return HEADER + astToString(await openapiTS(document, { alphabetize: true }))
  } finally {
    await app.close()
    await db.destroy()
  }
}
