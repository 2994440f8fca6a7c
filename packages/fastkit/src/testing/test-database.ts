import pg from 'pg'
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { createDatabase, type DatabaseKind, type DatabaseOptions } from '../db/create-database.js'
import { migrateToLatest, type MigrateOptions } from '../db/migrations.js'

/**
 * A throwaway database for one test file.
 *
 * @example
 * ```ts
 * import { migrations } from './migrations/index.js'
 * const t: TestDatabase<DB> = await createTestDatabase<DB>('pglite', { migrations: { migrations } })
 * await t.db.selectFrom('tasks').selectAll().execute()
 * await t.destroy()
 * ```
 */
export interface TestDatabase<DB> {
  readonly kind: DatabaseKind
  /** A URL `createDatabase` accepts, pointing at this database (for a server process under test). */
  readonly url: string
  readonly db: Kysely<DB>
  /** Destroys the pool and, on PostgreSQL, drops the database. */
  destroy(): Promise<void>
}

/**
 * The server used for the PostgreSQL half of the matrix (`TEST_DATABASE_URL`); unset means PGlite only.
 *
 * @example
 * ```ts
 * if (!testServerUrl()) console.warn('PostgreSQL half of the matrix skipped: TEST_DATABASE_URL is not set')
 * ```
 */
export function testServerUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined
}

/**
 * The Redis server for tests of Redis-backed features (`TEST_REDIS_URL`); unset means those tests are
 * not registered (the test run says so at start).
 *
 * @example
 * ```ts
 * const redis = testRedisUrl()
 * if (redis) {
 *   describe('over Redis', () => {
 *     // … tests that connect to `redis`
 *   })
 * }
 * ```
 */
export function testRedisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined
}

/**
 * The database kinds to test against: `DIALECTS=postgres,pglite` narrows the matrix. Without
 * `TEST_DATABASE_URL` only PGlite runs.
 *
 * @example
 * ```ts
 * describe.each(dialectsUnderTest())('tasks on %s', (kind) => {
 *   // … createTestDatabase<DB>(kind, …) and the tests
 * })
 * ```
 */
export function dialectsUnderTest(): DatabaseKind[] {
  const wanted = (process.env.DIALECTS ?? 'postgres,pglite').split(',').map((s) => s.trim()).filter(Boolean)
  for (const kind of wanted) {
    if (kind !== 'postgres' && kind !== 'pglite') throw new Error(`DIALECTS: unknown dialect "${kind}" (use postgres, pglite)`)
  }
  return (wanted as DatabaseKind[]).filter((kind) => kind === 'pglite' || testServerUrl() !== undefined)
}

/**
 * Creates an isolated database: on PostgreSQL a fresh `CREATE DATABASE` on the `TEST_DATABASE_URL`
 * server (so test files can run in parallel), on PGlite an in-memory instance. Runs `migrations` if
 * given; if they fail, the database is closed and dropped before the error is rethrown.
 *
 * Under vitest, pass migrations as imported modules (`{ migrations: { migrations } }`), not as a
 * folder: vitest transforms what your test imports, but fastkit's own `import()` of a `.ts` file in
 * a folder runs under plain Node.
 *
 * @example
 * ```ts
 * import { migrations } from '../src/migrations/index.js' // { '001-tasks': await import(…), … }
 *
 * describe.each(dialectsUnderTest())('%s', (kind) => {
 *   let t: TestDatabase<DB> | undefined
 *   beforeAll(async () => { t = await createTestDatabase<DB>(kind, { migrations: { migrations } }) })
 *   afterAll(() => t?.destroy()) // t is unset when beforeAll failed
 * })
 * ```
 */
export async function createTestDatabase<DB>(
  kind: DatabaseKind,
  options: { migrations?: MigrateOptions; dataDir?: string; database?: Omit<DatabaseOptions, 'url'> } = {},
): Promise<TestDatabase<DB>> {
  let url: string
  let drop: () => Promise<void> = async () => {}
  if (kind === 'postgres') {
    const server = testServerUrl()
    if (!server) throw new Error('TEST_DATABASE_URL is not set: cannot create a PostgreSQL test database')
    const name = `fastkit_test_${randomBytes(6).toString('hex')}`
    await adminQuery(server, `create database ${name}`)
    const parsed = new URL(server)
    parsed.pathname = `/${name}`
    url = parsed.toString()
    drop = () => adminQuery(server, `drop database if exists ${name} with (force)`)
  } else {
    url = options.dataDir ? `pglite://${options.dataDir}` : 'memory://'
  }
  let db: Kysely<DB> | undefined
  try {
    db = createDatabase<DB>({ ...options.database, url })
    if (options.migrations) await migrateToLatest(db, options.migrations)
  } catch (error) {
    // The caller gets no handle to clean up with: close and drop what was made before rethrowing.
    await db?.destroy().catch(() => {})
    await drop().catch(() => {})
    throw error
  }
  const ready = db
  return {
    kind,
    url,
    db: ready,
    async destroy() {
      await ready.destroy()
      await drop()
    },
  }
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
