// Regenerates web/src/api/schema.ts from the server's OpenAPI document:
//   pnpm --filter chat-example generate:api
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { API_TYPES_FILE, generateApiTypes } from './api-types.js'

await writeFile(API_TYPES_FILE, await generateApiTypes())
console.log(`wrote ${fileURLToPath(API_TYPES_FILE)}`)
