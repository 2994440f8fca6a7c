import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { createDatabase, databaseKind, fastkit, migrateToLatest, poolStats } from '../src/index.js'
import { mapDatabaseError } from '../src/extend.js'
import { createTestDatabase, dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { testMigrations, type TestDB } from './support/schema.js'

async function buildApp(db: Kysely<TestDB>, routes: (app: FastifyInstance) => void) {
  const app = Fastify()
  await app.register(fastkit, { db })
  routes(app)
  await app.ready()
  return app
}

const show = async (db: Kysely<any>, setting: string) =>
  (await sql<Record<string, string>>`show ${sql.raw(setting)}`.execute(db)).rows[0]![setting]

/** A folder of migrations as an app has them: `.ts` (run under vitest/tsx) and `.js`, plus noise. */
async function writeMigrationFolder(dir: string, { failing = false } = {}): Promise<void> {
  await writeFile(
    path.join(dir, '0001_widgets.ts'),
    `import type { Kysely } from 'kysely'
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('widgets').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('label', 'text').execute()
}
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('widgets').execute()
}
`,
  )
  await writeFile(
    path.join(dir, '0002_gadgets.js'),
    `export async function up(db) {
  await db.schema.createTable('gadgets').addColumn('id', 'serial', (c) => c.primaryKey()).execute()
}
`,
  )
  await writeFile(path.join(dir, '0002_gadgets.d.ts'), 'export declare function up(db: unknown): Promise<void>\n')
  await writeFile(path.join(dir, 'README.md'), 'not a migration\n')
  if (failing) {
    await writeFile(
      path.join(dir, '0003_broken.ts'),
      `export async function up(db: any): Promise<void> {
  await db.schema.createTable('half_done').addColumn('id', 'integer').execute()
  throw new Error('broken on purpose')
}
`,
    )
  }
}

describe('databaseKind', () => {
  test('postgres:// and postgresql:// URLs name a server; anything else an embedded PGlite', () => {
    expect(databaseKind('postgres://u@h:5432/db')).toBe('postgres')
    expect(databaseKind('postgresql://u@h/db')).toBe('postgres')
    expect(databaseKind('POSTGRES://u@h/db')).toBe('postgres')
    expect(databaseKind('memory://')).toBe('pglite')
    expect(databaseKind('pglite://./.data')).toBe('pglite')
    expect(databaseKind('./.data')).toBe('pglite')
  })
})

describe.each(dialectsUnderTest())('database layer on %s', (kind) => {
  const t = useTestDatabase(kind)
  let dirs: string[] = []

  beforeAll(async () => {
    // A reference without ON DELETE CASCADE, so deleting a referenced item is refused.
    await sql`create table strict_refs (id serial primary key, item_id uuid not null references items (id))`.execute(t.db)
  })
  afterEach(async () => {
    await sql`delete from strict_refs`.execute(t.db)
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
    dirs = []
  })
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fastkit-db-test-'))
    dirs.push(dir)
    return dir
  }

  test('createDatabase picks a pg pool or PGlite from the URL', async () => {
    expect(databaseKind(t.url)).toBe(kind)
    const version = await sql<{ version: string }>`select version()`.execute(t.db)
    if (kind === 'postgres') {
      expect(version.rows[0]!.version).not.toMatch(/PGlite/)
      expect(poolStats(t.db)).toMatchObject({ total: expect.any(Number), idle: expect.any(Number), waiting: 0 })
    } else {
      expect(version.rows[0]!.version).toMatch(/PGlite/)
      expect(poolStats(t.db)).toBeUndefined()
    }
  })

  test('both return int8 as a number, date as a string, timestamptz as a Date, numeric as a string', async () => {
    const row = await sql<{ big: unknown; day: unknown; at: unknown; exact: unknown }>`select
      count(*) as big, date '2024-02-29' as day, now() as at, 1.50::numeric as exact from items`.execute(t.db)
    expect(row.rows[0]).toEqual({ big: 0, day: '2024-02-29', at: expect.any(Date), exact: '1.50' })
  })

  if (kind === 'postgres') {
    // Pool settings are PostgreSQL's: PGlite has one in-process session and cannot enforce timeouts.
    test('every pooled session gets statement_timeout and idle_in_transaction_session_timeout (defaults)', async () => {
      const db = createDatabase<TestDB>(t.url)
      try {
        expect(await show(db, 'statement_timeout')).toBe('30s')
        expect(await show(db, 'idle_in_transaction_session_timeout')).toBe('1min')
        expect(await show(db, 'application_name')).toBe('fastkit')
      } finally {
        await db.destroy()
      }
    })

    test('the timeouts are tunable', async () => {
      const db = createDatabase<TestDB>({
        url: t.url,
        pool: { statementTimeoutMs: 1_234, idleInTransactionTimeoutMs: 5_678, applicationName: 'tuned' },
      })
      try {
        expect(await show(db, 'statement_timeout')).toBe('1234ms')
        expect(await show(db, 'idle_in_transaction_session_timeout')).toBe('5678ms')
        expect(await show(db, 'application_name')).toBe('tuned')
      } finally {
        await db.destroy()
      }
    })

    test('by default a caller waits for a pooled connection about 5 s, not forever', async () => {
      const db = createDatabase<TestDB>({ url: t.url, pool: { max: 1 } })
      const holder = await db.startTransaction().execute() // takes the only connection
      try {
        const started = Date.now()
        await expect(sql`select 1`.execute(db)).rejects.toThrow('timeout exceeded when trying to connect')
        const waited = Date.now() - started
        expect(waited).toBeGreaterThanOrEqual(4_500)
        expect(waited).toBeLessThan(9_000)
      } finally {
        await holder.rollback().execute()
        await db.destroy()
      }
    })

    test('an exhausted pool answers 503, and a statement over statement_timeout answers 503', async () => {
      const db = createDatabase<TestDB>({ url: t.url, pool: { max: 1, connectionTimeoutMs: 200, statementTimeoutMs: 200 } })
      const app = await buildApp(db, (app) => {
        app.get('/slow', async (request) => {
          await sql`select pg_sleep(2)`.execute(request.uow.db)
          return { ok: true }
        })
        app.get('/count', async (request) => request.uow.db.selectFrom('items').select((eb) => eb.fn.countAll().as('n')).execute())
      })
      try {
        const timedOut = await app.inject('/slow')
        expect(timedOut.statusCode).toBe(503)
        expect(timedOut.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(timedOut.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })

        const holder = await db.startTransaction().execute()
        try {
          const busy = await app.inject('/count')
          expect(busy.statusCode).toBe(503)
          expect(busy.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', detail: 'The database is busy; retry later' })
        } finally {
          await holder.rollback().execute()
        }
        expect((await app.inject('/count')).statusCode).toBe(200)
      } finally {
        await app.close()
        await db.destroy()
      }
    })
  }

  test('a statement cancelled by the server (statement timeout, SQLSTATE 57014) answers 503', async () => {
    // PGlite cannot time a statement out, so the server raises the very error a timeout raises.
    const app = await buildApp(t.db, (app) => {
      app.get('/cancelled', async (request) => {
        await sql`do $$ begin raise exception 'canceling statement due to statement timeout' using errcode = 'query_canceled'; end $$`.execute(
          request.uow.db,
        )
        return { ok: true }
      })
    })
    const res = await app.inject('/cancelled')
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
    await app.close()
  })

  describe('migrations', () => {
    test('from an object: applied in name order, once', async () => {
      const extra = {
        ...testMigrations,
        '0002_tags': {
          up: async (db: Kysely<any>) => {
            await db.schema.createTable('tags').addColumn('name', 'text', (c) => c.primaryKey()).execute()
          },
        },
      }
      const first = await migrateToLatest(t.db, { migrations: extra })
      expect(first.results?.map((r) => [r.migrationName, r.status])).toEqual([['0002_tags', 'Success']])
      const again = await migrateToLatest(t.db, { migrations: extra })
      expect(again.results).toEqual([])
      await sql`insert into tags (name) values ('x')`.execute(t.db)
    })

    test('a failing migration is rolled back and reported by name', async () => {
      const broken = {
        ...testMigrations,
        '0002_tags': { up: async () => {} },
        '0003_broken': {
          up: async (db: Kysely<any>) => {
            await db.schema.createTable('half_done').addColumn('id', 'integer').execute()
            throw new Error('broken on purpose')
          },
        },
      }
      await expect(migrateToLatest(t.db, { migrations: broken })).rejects.toThrow('Migration 0003_broken failed: broken on purpose')
      const exists = await sql<{ t: string | null }>`select to_regclass('half_done')::text as t`.execute(t.db)
      expect(exists.rows[0]!.t).toBeNull()
    })

    test('from a folder of .ts and .js files; data and migration state survive a reopen; a broken one stops there', async () => {
      const folder = await tempDir()
      await writeMigrationFolder(folder)
      // On PGlite, a data directory; on PostgreSQL, a fresh database on the server.
      const fresh = await createTestDatabase<any>(kind, kind === 'pglite' ? { dataDir: await tempDir() } : {})
      let reopened: Kysely<any> | undefined
      try {
        const applied = await migrateToLatest(fresh.db, { folder })
        expect(applied.results?.map((r) => [r.migrationName, r.status])).toEqual([
          ['0001_widgets', 'Success'],
          ['0002_gadgets', 'Success'],
        ])
        await fresh.db.insertInto('widgets').values({ label: 'kept' }).execute()
        // PGlite's directory can only be open once at a time.
        if (kind === 'pglite') await fresh.db.destroy()

        reopened = createDatabase<any>(fresh.url)
        const again = await migrateToLatest(reopened, { folder: pathToFileURL(folder + path.sep) })
        expect(again.results).toEqual([])
        expect(await reopened.selectFrom('widgets').select('label').execute()).toEqual([{ label: 'kept' }])
        expect(await reopened.selectFrom('gadgets').selectAll().execute()).toEqual([])

        // A new, broken migration stops there, is named, and leaves the earlier ones in place.
        await writeMigrationFolder(folder, { failing: true })
        await expect(migrateToLatest(reopened, { folder })).rejects.toThrow('Migration 0003_broken failed: broken on purpose')
        const tables = await sql<{ w: string | null; h: string | null }>`select to_regclass('widgets')::text as w,
          to_regclass('half_done')::text as h`.execute(reopened)
        expect(tables.rows[0]).toEqual({ w: 'widgets', h: null })
      } finally {
        await reopened?.destroy()
        await fresh.destroy()
      }
    })

    test('without folder or migrations it says what is missing', async () => {
      await expect(migrateToLatest(t.db, {})).rejects.toThrow('migrateToLatest needs `folder` or `migrations`')
    })
  })

  describe('database errors over HTTP are 4xx problems', () => {
    let app: FastifyInstance
    beforeAll(async () => {
      app = await buildApp(t.db, (app) => {
        app.post('/items', async (request, reply) => {
          const body = request.body as { name: string; qty?: number }
          const row = await request.uow.db.insertInto('items').values(body).returning('id').executeTakeFirstOrThrow()
          return reply.code(201).send(row)
        })
        app.post('/notes', async (request, reply) => {
          const body = request.body as { itemId: string; body: string }
          await request.uow.db.insertInto('notes').values(body).execute()
          return reply.code(201).send({ ok: true })
        })
        app.post('/strict-refs', async (request, reply) => {
          await sql`insert into strict_refs (item_id) values (${(request.body as { itemId: string }).itemId})`.execute(request.uow.db)
          return reply.code(201).send({ ok: true })
        })
        app.delete('/items/:id', async (request, reply) => {
          await request.uow.db.deleteFrom('items').where('id', '=', (request.params as { id: string }).id).execute()
          return reply.code(204).send()
        })
        app.get('/items/:id', async (request) =>
          request.uow.db.selectFrom('items').selectAll().where('id', '=', (request.params as { id: string }).id).execute(),
        )
      })
    })
    afterAll(async () => {
      await app?.close()
    })

    const expectProblem = (res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number) => {
      expect(res.statusCode).toBe(status)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      return res.json() as { status: number; code: string; detail: string; errors?: { path: string; message: string }[] }
    }

    test('unique violation → 409 naming the field', async () => {
      expect((await app.inject({ method: 'POST', url: '/items', payload: { name: 'dup' } })).statusCode).toBe(201)
      const problem = expectProblem(await app.inject({ method: 'POST', url: '/items', payload: { name: 'dup' } }), 409)
      expect(problem).toMatchObject({ code: 'CONFLICT', detail: 'name already exists' })
      expect(await t.db.selectFrom('items').select('name').execute()).toEqual([{ name: 'dup' }])
    })

    test('foreign key to a missing row → 400 naming the column', async () => {
      const problem = expectProblem(
        await app.inject({ method: 'POST', url: '/notes', payload: { itemId: randomUUID(), body: 'orphan' } }),
        400,
      )
      expect(problem).toMatchObject({
        code: 'BAD_REQUEST',
        detail: 'The referenced itemId does not exist',
        errors: [{ path: 'itemId', message: 'does not exist' }],
      })
    })

    test('deleting a row that is still referenced → 409', async () => {
      const { id } = (await app.inject({ method: 'POST', url: '/items', payload: { name: 'referenced' } })).json() as { id: string }
      expect((await app.inject({ method: 'POST', url: '/strict-refs', payload: { itemId: id } })).statusCode).toBe(201)
      const problem = expectProblem(await app.inject({ method: 'DELETE', url: `/items/${id}` }), 409)
      expect(problem).toMatchObject({ code: 'CONFLICT', detail: 'This record is still referenced from strict_refs' })
      expect(await t.db.selectFrom('items').select('name').execute()).toEqual([{ name: 'referenced' }])
    })

    test('not-null violation → 400 naming the column; check violation → 400 naming the rule', async () => {
      const missing = expectProblem(await app.inject({ method: 'POST', url: '/items', payload: { name: null } }), 400)
      expect(missing).toMatchObject({ code: 'BAD_REQUEST', detail: 'name is required', errors: [{ path: 'name', message: 'is required' }] })
      const negative = expectProblem(await app.inject({ method: 'POST', url: '/items', payload: { name: 'neg', qty: -1 } }), 400)
      expect(negative).toMatchObject({ code: 'BAD_REQUEST', detail: 'The values break the rule items_qty_check' })
      expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
    })

    test('text that is not a uuid → 400', async () => {
      const problem = expectProblem(await app.inject({ method: 'GET', url: '/items/not-a-uuid' }), 400)
      expect(problem).toMatchObject({ code: 'BAD_REQUEST', detail: 'invalid input syntax for type uuid: "not-a-uuid"' })
    })
  })

  test('mapDatabaseError leaves errors that are not the client’s alone', async () => {
    const syntax = await sql`selec 1`.execute(t.db).catch((e: unknown) => e)
    expect(syntax).toMatchObject({ code: '42601' })
    expect(mapDatabaseError(syntax)).toBeUndefined()
    expect(mapDatabaseError(new Error('plain'))).toBeUndefined()
  })
})
