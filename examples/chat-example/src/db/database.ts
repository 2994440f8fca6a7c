import { CamelCasePlugin } from 'kysely'
import { createDatabase, migrateToLatest } from 'fastkit'
import type { DB } from './schema.js'

/** The migrations folder (../../migrations from here, in src/ and in dist/ alike). */
export const migrationsFolder = new URL('../../migrations/', import.meta.url)

/** The chat's database: PostgreSQL or PGlite by URL, camelCase in TypeScript, snake_case in SQL. */
export function openDatabase(url: string) {
  return createDatabase<DB>({ url, plugins: [new CamelCasePlugin()] })
}

/** Applies pending migrations (safe with several processes starting at once). */
export function migrate(db: ReturnType<typeof openDatabase>) {
  return migrateToLatest(db, { folder: migrationsFolder })
}
