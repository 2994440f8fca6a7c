import { afterAll, afterEach, beforeAll } from 'vitest'
import type { LogEvent } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../../src/testing/index.js'
import type { DatabaseKind } from '../../src/index.js'
import { testMigrations, type TestDB } from './schema.js'

/**
 * The fixed lifecycle of a database test file: one isolated, migrated database per dialect
 * (beforeAll), emptied after each test, destroyed at the end. `statements` records every SQL
 * statement sent on a real connection, BEGIN and COMMIT included.
 */
export function useTestDatabase(kind: DatabaseKind) {
  const statements: string[] = []
  const queries: { sql: string; parameters: readonly unknown[] }[] = []
  const state: { t?: TestDatabase<TestDB> } = {}
  beforeAll(async () => {
    state.t = await createTestDatabase<TestDB>(kind, {
      migrations: { migrations: testMigrations },
      database: {
        log: (event: LogEvent) => {
          statements.push(event.query.sql)
          queries.push({ sql: event.query.sql, parameters: event.query.parameters })
        },
      },
    })
  })
  afterEach(async () => {
    await state.t!.db.deleteFrom('items').execute()
    statements.length = 0
    queries.length = 0
  })
  afterAll(async () => {
    await state.t?.destroy()
  })
  return {
    get db() {
      return state.t!.db
    },
    get url() {
      return state.t!.url
    },
    statements,
    /** Like `statements`, with parameters, e.g. to EXPLAIN exactly what ran. */
    queries,
  }
}
