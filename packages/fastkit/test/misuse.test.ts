// Common mistakes end in a message that says what to do, not in an error from deep inside a dependency.
import Fastify from 'fastify'
import { sql, type Kysely } from 'kysely'
import { describe, expect, test } from 'vitest'
import { createDatabase } from '../src/index.js'
import { createTestDatabase, dialectsUnderTest, testServerUrl } from '../src/testing/index.js'
import { ItemRouter } from './support/item-resource.js'

describe('a router registered without the fastkit plugin', () => {
  test('fails at start-up with a message naming the router and the plugin to register first', async () => {
    const app = Fastify()
    await expect(app.register(new ItemRouter().plugin).ready()).rejects.toThrow(
      /ItemRouter: register the fastkit plugin before the router: await app\.register\(fastkit, \{ db \}\)/,
    )
    await app.close()
  })
})

describe('createDatabase with a URL it does not speak', () => {
  test.each(['mysql://root@localhost:3306/app', 'sqlite:///tmp/app.db', 'postgress://typo@localhost/app'])(
    '%s is refused, listing the accepted forms, before anything touches the disk',
    (url) => {
      expect(() => createDatabase(url)).toThrow(/unsupported database URL scheme/)
      expect(() => createDatabase({ url })).toThrow(/postgres:\/\/user@host:5432\/db.*memory:\/\/.*pglite:\/\/<dir>/)
    },
  )

  test('an empty URL is refused the same way', () => {
    expect(() => createDatabase('')).toThrow(/no database URL given.*postgres:\/\//)
  })

  test('the accepted forms still open', async () => {
    for (const url of ['memory://', 'pglite://memory']) {
      const db = createDatabase(url)
      await db.destroy()
    }
    // A postgres URL builds a lazy pool: nothing connects until the first query.
    await createDatabase('postgresql://nobody@127.0.0.1:1/none').destroy()
  })
})

describe.each(dialectsUnderTest())('createTestDatabase whose migrations fail on %s', (kind) => {
  test('rejects with the migration error and leaves no database behind', async () => {
    let name: string | undefined
    const failing = {
      async up(db: Kysely<any>) {
        name = (await sql<{ name: string }>`select current_database() as name`.execute(db)).rows[0]?.name
        throw new Error('boom in 001')
      },
    }
    await expect(createTestDatabase(kind, { migrations: { migrations: { '001-fails': failing } } })).rejects.toThrow(/Migration 001-fails failed: boom in 001/)
    expect(name).toBeDefined()
    if (kind === 'postgres') {
      const admin = createDatabase(testServerUrl()!)
      try {
        const left = await sql`select 1 from pg_database where datname = ${name}`.execute(admin)
        expect(left.rows).toEqual([])
      } finally {
        await admin.destroy()
      }
    }
  }, 90_000) // a fresh PGlite can take long to start on a loaded machine
})
