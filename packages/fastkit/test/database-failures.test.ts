import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { createServer } from 'node:net'
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import { createDatabase, fastkit, poolStats } from '../src/index.js'
import { mapDatabaseError } from '../src/extend.js'
import { createTestDatabase, dialectsUnderTest, type TestDatabase } from '../src/testing/index.js'
import { startHeldReplyProxy } from './support/held-reply-proxy.js'

async function buildApp(db: Kysely<any>, routes: (app: FastifyInstance) => void) {
  const app = Fastify()
  await app.register(fastkit, { db })
  routes(app)
  await app.ready()
  return app
}

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number) {
  expect(res.statusCode).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  return res.json() as { status: number; code: string; detail: string }
}

/** A port on 127.0.0.1 nobody listens on (bound by the OS, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const pgError = (code: string) => Object.assign(new Error('text from the server'), { code })
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code })

test.each([
  ['connection refused', socketError('ECONNREFUSED'), '1'],
  ['connection reset', socketError('ECONNRESET'), '1'],
  ['refused on every address (dual stack)', new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]), '1'],
  ['admin shutdown (57P01)', pgError('57P01'), '1'],
  ['crash shutdown (57P02)', pgError('57P02'), '1'],
  ['cannot connect now (57P03)', pgError('57P03'), '1'],
  ['too many connections (53300)', pgError('53300'), '1'],
  ['connection failure (08006)', pgError('08006'), '1'],
  ['connection terminated during a query', new Error('Connection terminated unexpectedly'), '1'],
  ['a client that lost its connection', new Error('Client has encountered a connection error and is not queryable'), '1'],
  ['pool checkout timeout', new Error('timeout exceeded when trying to connect'), '5'],
  ['no new connection in time', new Error('Connection terminated due to connection timeout'), '5'],
  ['client-side query timeout', new Error('Query read timeout'), '5'],
  ['statement_timeout (57014)', pgError('57014'), '5'],
  ['idle-in-transaction timeout (25P03)', pgError('25P03'), '5'],
] as const)('%s → 503 SERVICE_UNAVAILABLE with Retry-After: %s', (_, error, retryAfter) => {
  const mapped = mapDatabaseError(error)
  expect(mapped).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', headers: { 'retry-after': retryAfter } })
  expect(mapped?.message).not.toContain('text from the server')
})

test('errors that are not about the database being away stay unmapped (500)', () => {
  expect(mapDatabaseError(new TypeError('x is undefined'))).toBeUndefined()
  expect(mapDatabaseError(pgError('XX000'))).toBeUndefined()
  expect(mapDatabaseError(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBeUndefined()
})

describe.each(dialectsUnderTest())('database errors that are the client’s, on %s', (kind) => {
  let t: TestDatabase<any>
  let app: FastifyInstance
  beforeAll(async () => {
    t = await createTestDatabase<any>(kind)
    await sql`create table accounts (id serial primary key, username text not null, team int, seat int)`.execute(t.db)
    await sql`create unique index accounts_username_lower on accounts (lower(username))`.execute(t.db)
    await sql`alter table accounts add constraint accounts_team_seat unique (team, seat)`.execute(t.db)
    app = await buildApp(t.db, (app) => {
      app.post('/accounts', async (request, reply) => {
        const body = request.body as { username: string; team?: number; seat?: number }
        await sql`insert into accounts (username, team, seat) values (${body.username}, ${body.team ?? null}, ${body.seat ?? null})`.execute(
          request.uow.db,
        )
        return reply.code(201).send({ ok: true })
      })
      // Text that reaches SQL without passing the request hook that refuses NUL (decoded in the handler,
      // as input arriving another way would be): what the database's own 22021 backstop is for.
      app.post('/accounts-encoded', async (request, reply) => {
        const username = decodeURIComponent((request.body as { username: string }).username)
        await sql`insert into accounts (username) values (${username})`.execute(request.uow.db)
        return reply.code(201).send({ ok: true })
      })
      app.get('/latin1', async (request) => {
        const text = (request.query as { text: string }).text
        return (await sql<{ bytes: string }>`select convert_to(${text}, 'LATIN1')::text as bytes`.execute(request.uow.db)).rows
      })
    })
  })
  afterAll(async () => {
    await app?.close()
    await t?.destroy()
  })

  test('a unique violation names the constraint’s columns, also through an expression index', async () => {
    expect((await app.inject({ method: 'POST', url: '/accounts', payload: { username: 'Alice' } })).statusCode).toBe(201)
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/accounts', payload: { username: 'alice' } }), 409)
    // Not `A record with this lower(username already exists`, PostgreSQL's `Key (lower(username))=…` cut by a regex.
    expect(problem).toMatchObject({ code: 'CONFLICT', detail: 'username already exists' })
  })

  test('a unique constraint over several columns names them all, in key order', async () => {
    expect((await app.inject({ method: 'POST', url: '/accounts', payload: { username: 'b', team: 1, seat: 7 } })).statusCode).toBe(201)
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/accounts', payload: { username: 'c', team: 1, seat: 7 } }), 409)
    expect(problem.detail).toBe('team and seat already exist')
  })

  test('a constraint created after the first violation is looked up too', async () => {
    await sql`alter table accounts add column email text`.execute(t.db)
    await sql`alter table accounts add constraint accounts_email unique (email)`.execute(t.db)
    await sql`insert into accounts (username, email) values ('d', 'd@example.com')`.execute(t.db)
    const failure = await sql`insert into accounts (username, email) values ('e', 'd@example.com')`.execute(t.db).catch((e: unknown) => e)
    const { mapDatabaseError } = await import('../src/extend.js')
    expect(mapDatabaseError(failure)?.message).toBe('email already exists')
  })

  test('text PostgreSQL cannot store (NUL: 22021) is a 400, also when it reaches the database', async () => {
    // In a request, fastkit's hook refuses it before any SQL, naming the field…
    const refused = expectProblem(await app.inject({ method: 'POST', url: '/accounts', payload: { username: 'nul\u0000name' } }), 400)
    expect(refused.code).toBe('VALIDATION_FAILED')
    // …and text that reaches the database another way is still the client's 400, not a 500.
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/accounts-encoded', payload: { username: 'nul%00name' } }), 400)
    expect(problem).toMatchObject({ code: 'BAD_REQUEST', detail: 'The text contains a character the database cannot store' })
    expect(problem.detail).not.toMatch(/0x00|UTF8/)
  })

  // PGlite answers convert_to() of an unconvertible character with no rows instead of 22P05, so this
  // one is registered on PostgreSQL only.
  if (kind === 'postgres') test('a character with no equivalent in the target encoding (22P05) is a 400', async () => {
    expect((await app.inject({ method: 'GET', url: '/latin1?text=abc' })).statusCode).toBe(200)
    const problem = expectProblem(await app.inject({ method: 'GET', url: `/latin1?text=${encodeURIComponent('€')}` }), 400)
    expect(problem.code).toBe('BAD_REQUEST')
  })
})

if (dialectsUnderTest().includes('postgres')) {
  describe('a database that is away or slow answers 503 with Retry-After, never 500 (PostgreSQL)', () => {
    let t: TestDatabase<any>
    beforeAll(async () => {
      t = await createTestDatabase<any>('postgres')
    })
    afterAll(async () => {
      await t?.destroy()
    })

    test('connection refused → 503 SERVICE_UNAVAILABLE, Retry-After: 1', async () => {
      const db = createDatabase({ url: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres` })
      const app = await buildApp(db, (app) => app.get('/one', async (request) => (await sql`select 1 as one`.execute(request.uow.db)).rows))
      try {
        const res = await app.inject('/one')
        expect(expectProblem(res, 503)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', detail: 'The database is unavailable; retry later' })
        expect(res.headers['retry-after']).toBe('1')
      } finally {
        await app.close()
        await db.destroy()
      }
    })

    test('a connection terminated by the server mid-request (57P01) → 503, and the pool recovers', async () => {
      const db = createDatabase({ url: t.url })
      const app = await buildApp(db, (app) => {
        app.post('/terminated', async (request) => {
          await sql`create temp table if not exists scratch (x int)`.execute(request.uow.db)
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(request.uow.db)
          await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(t.db)
          await sql`insert into scratch values (1)`.execute(request.uow.db)
          return { ok: true }
        })
        app.get('/one', async (request) => (await sql`select 1 as one`.execute(request.uow.db)).rows)
      })
      try {
        const res = await app.inject({ method: 'POST', url: '/terminated' })
        expect(expectProblem(res, 503).code).toBe('SERVICE_UNAVAILABLE')
        expect(res.headers['retry-after']).toBe('1')
        expect((await app.inject('/one')).statusCode).toBe(200)
      } finally {
        await app.close()
        await db.destroy()
      }
    })

    test('a new connection the server ends in the same read as its "ready" (57P01 at checkout) fails the statement with 503, and raises no error nobody listens to', async () => {
      // The fault suite's crash: during a fast stop, a pooled connection that was just opening got
      // ReadyForQuery and FATAL 57P01 in one socket read. pg-pool stops listening for a client's
      // errors as it hands the client out, and whoever asked for it runs a microtask later: the error
      // was emitted by a pg.Client with no 'error' listener, which crashes the process.
      const orphanErrors: unknown[] = []
      const emit = pg.Client.prototype.emit
      // Records such an emit instead of letting it throw, so the test can say what happened.
      pg.Client.prototype.emit = function (this: pg.Client, event: string | symbol, ...args: unknown[]) {
        if (event === 'error' && this.listenerCount('error') === 0) {
          orphanErrors.push(args[0])
          return false
        }
        return emit.call(this, event, ...args)
      }
      const proxy = await startHeldReplyProxy(t.url)
      const applicationName = `fk-orphan-${process.pid}-${Date.now()}`
      const db = createDatabase({ url: proxy.url, pool: { applicationName, connectionTimeoutMs: 10_000 } })
      try {
        const statement = sql`select 1 as one`.execute(db)
        // The backend has answered the startup (held by the proxy) and waits, idle, for a statement.
        let pid: number | undefined
        for (const deadline = Date.now() + 10_000; pid === undefined; ) {
          const { rows } = await sql<{ pid: number }>`
            select pid from pg_stat_activity where application_name = ${applicationName} and state = 'idle'`.execute(t.db)
          pid = rows[0]?.pid
          if (pid === undefined && Date.now() > deadline) throw new Error('the pooled connection never reached the server')
        }
        await sql`select pg_terminate_backend(${pid})`.execute(t.db)
        await proxy.releaseWhenServerHungUp()
        const error = await statement.then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(orphanErrors.map((e) => (e as { code?: string }).code ?? String(e))).toEqual([])
        expect(mapDatabaseError(error)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
      } finally {
        pg.Client.prototype.emit = emit
        await db.destroy()
        await proxy.close()
      }
    })

    test('a statement the client stops waiting for (query timeout) → 503 Retry-After: 5; its connection is destroyed, not reused', async () => {
      // The server would let it run 10 s; the client gives up after 300 ms, as it must for a frozen server.
      const db = createDatabase({ url: t.url, pool: { max: 1, statementTimeoutMs: 10_000, queryTimeoutMs: 300 } })
      const app = await buildApp(db, (app) => {
        app.post('/slow', async (request) => {
          await sql`create temp table if not exists marks (pid int)`.execute(request.uow.db)
          await sql`select pg_sleep(2)`.execute(request.uow.db)
          return { ok: true }
        })
        app.get('/pid', async (request) => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(request.uow.db)).rows[0])
      })
      try {
        const before = (await app.inject('/pid')).json<{ pid: number }>().pid
        const started = Date.now()
        const res = await app.inject({ method: 'POST', url: '/slow' })
        expect(Date.now() - started).toBeLessThan(1_500)
        expect(expectProblem(res, 503)).toMatchObject({ detail: 'The database is busy; retry later' })
        expect(res.headers['retry-after']).toBe('5')
        // The one pooled connection still ran pg_sleep inside an open transaction: the next request
        // gets a new one instead of queueing behind (or committing) that transaction.
        const after = await app.inject('/pid')
        expect(after.statusCode).toBe(200)
        expect(after.json<{ pid: number }>().pid).not.toBe(before)
        expect(poolStats(db)).toMatchObject({ total: 1, waiting: 0 })
      } finally {
        await app.close()
        await db.destroy()
      }
    })

    test('a route may raise its own statement timeout; the client-side timeout moves with it', async () => {
      // Default: statement_timeout 300 ms, client timeout 300 + 1 000 ms.
      const db = createDatabase({ url: t.url, pool: { statementTimeoutMs: 300 } })
      const app = await buildApp(db, (app) => {
        app.get('/report', { config: { uow: { statementTimeoutMs: 3_000 } } }, async (request) => {
          const { rows } = await sql<{ setting: string }>`select current_setting('statement_timeout') as setting, pg_sleep(1.5)`.execute(request.uow.db)
          return rows[0]
        })
        app.get('/default', async (request) => (await sql`select pg_sleep(1.5)`.execute(request.uow.db)).rows)
        app.get('/after', async (request) => (await sql<{ setting: string }>`select current_setting('statement_timeout') as setting`.execute(request.uow.db)).rows[0])
      })
      try {
        const report = await app.inject('/report')
        expect(report.statusCode).toBe(200)
        expect(report.json()).toMatchObject({ setting: '3s' })
        const plain = await app.inject('/default')
        expect(expectProblem(plain, 503).code).toBe('SERVICE_UNAVAILABLE')
        // SET LOCAL ended with the route's transaction: the pooled connection is back at the default.
        expect((await app.inject('/after')).json()).toEqual({ setting: '300ms' })
      } finally {
        await app.close()
        await db.destroy()
      }
    })

    test('waiting for a pooled connection is bounded: connectionTimeoutMs → 503', async () => {
      const db = createDatabase({ url: t.url, pool: { max: 1, connectionTimeoutMs: 200 } })
      const app = await buildApp(db, (app) => app.get('/one', async (request) => (await sql`select 1 as one`.execute(request.uow.db)).rows))
      const holder = await db.startTransaction().execute()
      try {
        const started = Date.now()
        const res = await app.inject('/one')
        expect(Date.now() - started).toBeLessThan(1_500)
        expect(expectProblem(res, 503).code).toBe('SERVICE_UNAVAILABLE')
        expect(res.headers['retry-after']).toBe('5')
      } finally {
        await holder.rollback().execute()
        await app.close()
        await db.destroy()
      }
    })

    test('an unexpected error stays 500', async () => {
      const app = await buildApp(t.db, (app) =>
        app.get('/bug', async (request) => {
          await sql`select 1`.execute(request.uow.db)
          throw new TypeError('a bug')
        }),
      )
      try {
        expect(expectProblem(await app.inject('/bug'), 500).code).toBe('INTERNAL')
      } finally {
        await app.close()
      }
    })
  })
}
