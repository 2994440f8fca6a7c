import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { ConflictError, fastkit, poolStats, UnitOfWork } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import type { TestDB } from './support/schema.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns true, failing after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await sleep(10)
  }
}

interface LogLine {
  level: number
  msg: string
  err?: { message: string }
}

/** A tiny app: fastkit plus plain routes using `request.uow.db`; log lines are kept in `logs`. */
async function buildApp(db: Kysely<TestDB>, routes: (app: FastifyInstance) => void) {
  const logs: LogLine[] = []
  const app = Fastify({
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } },
  })
  await app.register(fastkit, { db })
  routes(app)
  await app.ready()
  return { app, logs }
}

const names = async (db: Kysely<TestDB>) =>
  (await db.selectFrom('items').select('name').orderBy('name').execute()).map((row) => row.name)

describe.each(dialectsUnderTest())('request scope over HTTP on %s', (kind) => {
  const t = useTestDatabase(kind)

  beforeAll(async () => {
    // A constraint checked only at COMMIT, to make the commit itself fail.
    await sql`create table deferred_refs (
      id serial primary key,
      item_id uuid not null references items (id) deferrable initially deferred
    )`.execute(t.db)
  })

  describe('commit happens before the response', () => {
    test('a 2xx write is visible to another connection the moment the response arrives', async () => {
      const { app } = await buildApp(t.db, (app) => {
        app.post('/items', async (request, reply) => {
          const { name } = request.body as { name: string }
          const row = await request.uow.db.insertInto('items').values({ name }).returning(['id', 'name']).executeTakeFirstOrThrow()
          return reply.code(201).send(row)
        })
      })
      t.statements.length = 0
      const res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'visible' } })
      expect(res.statusCode).toBe(201)
      // t.db is the root database: on PostgreSQL another pooled connection, not the request's.
      expect(await names(t.db)).toEqual(['visible'])
      expect(t.statements.map((s) => s.split(' ')[0]!.toLowerCase())).toEqual(['begin', 'insert', 'commit', 'select'])
      await app.close()
    })

    test('a handler that writes twice then throws gets a problem response and no row persists', async () => {
      const { app } = await buildApp(t.db, (app) => {
        app.post('/two-writes/:how', async (request) => {
          await request.uow.db.insertInto('items').values({ name: 'first' }).execute()
          await request.uow.db.insertInto('items').values({ name: 'second' }).execute()
          if ((request.params as { how: string }).how === 'conflict') throw new ConflictError('nope')
          throw new Error('boom')
        })
      })
      t.statements.length = 0
      const crashed = await app.inject({ method: 'POST', url: '/two-writes/crash' })
      expect(crashed.statusCode).toBe(500)
      expect(crashed.headers['content-type']).toMatch(/^application\/problem\+json/)
      const refused = await app.inject({ method: 'POST', url: '/two-writes/conflict' })
      expect(refused.statusCode).toBe(409)
      expect(refused.json()).toMatchObject({ status: 409, code: 'CONFLICT', detail: 'nope' })
      expect(await names(t.db)).toEqual([])
      // The answer does not wait for the rollback (see onSend): it may still be on its way.
      await vi.waitFor(() => expect(t.statements.filter((s) => /^rollback/i.test(s))).toHaveLength(2))
      await app.close()
    })

    test('a 4xx reply set by the handler (no throw) rolls back', async () => {
      const { app } = await buildApp(t.db, (app) => {
        app.post('/refuse', async (request, reply) => {
          await request.uow.db.insertInto('items').values({ name: 'refused' }).execute()
          reply.code(400)
          return { ok: false }
        })
      })
      const res = await app.inject({ method: 'POST', url: '/refuse' })
      expect(res.statusCode).toBe(400)
      expect(await names(t.db)).toEqual([])
      await app.close()
    })

    test('a 3xx reply commits like a 2xx', async () => {
      const { app } = await buildApp(t.db, (app) => {
        app.post('/moved', async (request, reply) => {
          await request.uow.db.insertInto('items').values({ name: 'moved' }).execute()
          return reply.redirect('/elsewhere', 303)
        })
      })
      const res = await app.inject({ method: 'POST', url: '/moved' })
      expect(res.statusCode).toBe(303)
      expect(await names(t.db)).toEqual(['moved'])
      await app.close()
    })

    test('a failed COMMIT becomes the error response, never a 2xx, and runs no after-commit callback', async () => {
      const ran: string[] = []
      const { app } = await buildApp(t.db, (app) => {
        app.post('/deferred', async (request, reply) => {
          await request.uow.db.insertInto('items').values({ name: 'kept-only-if-committed' }).execute()
          // Fine for now; the missing item is only noticed by COMMIT.
          await sql`insert into deferred_refs (item_id) values (${randomUUID()})`.execute(request.uow.db)
          request.uow.afterCommit(() => ran.push('callback'))
          return reply.code(201).send({ ok: true })
        })
      })
      t.statements.length = 0
      const res = await app.inject({ method: 'POST', url: '/deferred' })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(res.json()).toMatchObject({ status: 400, code: 'BAD_REQUEST', detail: 'The referenced item_id does not exist' })
      expect(t.statements.some((s) => /^commit/i.test(s))).toBe(true)
      expect(ran).toEqual([])
      expect(await names(t.db)).toEqual([])
      const refs = await sql<{ n: number }>`select count(*)::int as n from deferred_refs`.execute(t.db)
      expect(refs.rows[0]!.n).toBe(0)
      await app.close()
    })
  })

  test('a request that reads once issues exactly one statement and no BEGIN/COMMIT', async () => {
    await t.db.insertInto('items').values([{ name: 'a' }, { name: 'b' }]).execute()
    const { app } = await buildApp(t.db, (app) => {
      app.get('/items', async (request) => request.uow.db.selectFrom('items').select('name').orderBy('name').execute())
    })
    t.statements.length = 0
    const res = await app.inject({ method: 'GET', url: '/items' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([{ name: 'a' }, { name: 'b' }])
    expect(t.statements).toHaveLength(1)
    expect(t.statements[0]).toMatch(/^select/)
    await app.close()
  })

  describe('per-route isolation level and read-only mode', () => {
    const settings = (db: Kysely<TestDB>) =>
      sql<{ isolation: string; readOnly: string }>`select current_setting('transaction_isolation') as isolation,
        current_setting('transaction_read_only') as "readOnly"`.execute(db)

    test('route config.uow sets the transaction of that route only', async () => {
      const { app } = await buildApp(t.db, (app) => {
        app.get('/strict', { config: { uow: { isolationLevel: 'serializable', readOnly: true } } }, async (request) => {
          return (await settings(request.uow.db)).rows[0]
        })
        app.get('/repeatable', { config: { uow: { isolationLevel: 'repeatable read' } } }, async (request) => {
          return (await settings(request.uow.db)).rows[0]
        })
        app.get('/default', async (request) => (await settings(request.uow.db)).rows[0])
      })
      expect((await app.inject('/strict')).json()).toEqual({ isolation: 'serializable', readOnly: 'on' })
      expect((await app.inject('/repeatable')).json()).toEqual({ isolation: 'repeatable read', readOnly: 'off' })
      expect((await app.inject('/default')).json()).toEqual({ isolation: 'read committed', readOnly: 'off' })
      await app.close()
    })

    test('a write on a read-only route fails and persists nothing', async () => {
      const { app, logs } = await buildApp(t.db, (app) => {
        app.post('/read-only-write', { config: { uow: { readOnly: true } } }, async (request) => {
          await request.uow.db.insertInto('items').values({ name: 'nope' }).execute()
          return { ok: true }
        })
      })
      const res = await app.inject({ method: 'POST', url: '/read-only-write' })
      // A read-only route that writes is a bug in the app, not in the request: a 500, logged.
      expect(res.statusCode).toBe(500)
      expect(logs.some((l) => l.level === 50 && /read-only transaction/.test(l.err?.message ?? ''))).toBe(true)
      expect(await names(t.db)).toEqual([])
      await app.close()
    })
  })

  describe('after-commit callbacks', () => {
    test('run after the commit, never after a rollback', async () => {
      const calls: string[] = []
      const { app } = await buildApp(t.db, (app) => {
        app.post('/cb/:how', async (request, reply) => {
          const how = (request.params as { how: string }).how
          await request.uow.db.insertInto('items').values({ name: `cb-${how}` }).execute()
          request.uow.afterCommit(async () => {
            // On PGlite this would wait forever if the request's transaction were still open.
            const committed = await names(app.db as Kysely<TestDB>)
            calls.push(`${how}:${committed.join(',')}`)
          })
          if (how === 'throw') throw new Error('boom')
          if (how === 'refuse') return reply.code(422).send({ ok: false })
          return reply.code(201).send({ ok: true })
        })
      })
      expect((await app.inject({ method: 'POST', url: '/cb/throw' })).statusCode).toBe(500)
      expect((await app.inject({ method: 'POST', url: '/cb/refuse' })).statusCode).toBe(422)
      expect((await app.inject({ method: 'POST', url: '/cb/ok' })).statusCode).toBe(201)
      expect(calls).toEqual(['ok:cb-ok'])
      await app.close()
    })

    test('a failing callback is logged and the response stays 2xx', async () => {
      const { app, logs } = await buildApp(t.db, (app) => {
        app.post('/cb-fails', async (request, reply) => {
          await request.uow.db.insertInto('items').values({ name: 'committed' }).execute()
          request.uow.afterCommit(() => {
            throw new Error('callback broke')
          })
          return reply.code(201).send({ ok: true })
        })
      })
      const res = await app.inject({ method: 'POST', url: '/cb-fails' })
      expect(res.statusCode).toBe(201)
      expect(res.json()).toEqual({ ok: true })
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 50, msg: 'after-commit callback failed', err: expect.objectContaining({ message: 'callback broke' }) }),
      )
      expect(await names(t.db)).toEqual(['committed'])
      await app.close()
    })
  })

  describe('client abort over a real socket', () => {
    let app: FastifyInstance
    let port: number
    const counters = { entered: 0, wrote: 0, done: 0 }

    beforeAll(async () => {
      app = (
        await buildApp(t.db, (app) => {
          const slowWrite = async (name: string, uow: UnitOfWork) => {
            counters.entered++
            try {
              await uow.db.insertInto('items').values({ name }).execute()
              counters.wrote++
              await sleep(400)
              return { ok: true }
            } finally {
              counters.done++
            }
          }
          // POST reads its body before the handler runs; GET does not. Fastify notices the abort of
          // the two differently, so both are exercised.
          app.post('/slow', async (request) => slowWrite((request.body as { name: string }).name, request.uow))
          app.get('/slow', async (request) => slowWrite((request.query as { name: string }).name, request.uow))
        })
      ).app
      await app.listen({ host: '127.0.0.1', port: 0 })
      port = (app.server.address() as AddressInfo).port
    })
    afterAll(async () => {
      await app?.close()
    })

    const send = (i: number): http.ClientRequest => {
      const name = `aborted-${i}`
      const body = JSON.stringify({ name })
      const req =
        i % 2 === 0
          ? http.request({
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: '/slow',
              agent: false,
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            })
          : http.request({ host: '127.0.0.1', port, method: 'GET', path: `/slow?name=${name}`, agent: false })
      req.on('error', () => {}) // ECONNRESET: we are the ones hanging up
      req.end(i % 2 === 0 ? body : undefined)
      return req
    }

    test('50 aborted requests leave every connection free and the data unchanged', async () => {
      await t.db.insertInto('items').values({ name: 'before' }).execute()
      const requests = Array.from({ length: 50 }, (_, i) => send(i))
      // Mid-request: every handler has started; as many as can hold a connection have written.
      const holders = kind === 'postgres' ? 10 : 1
      await eventually(() => counters.entered === 50 && counters.wrote >= holders)
      for (const req of requests) req.destroy()
      await eventually(() => counters.done === 50)

      expect(await names(t.db)).toEqual(['before'])
      if (kind === 'postgres') {
        await eventually(() => {
          const stats = poolStats(t.db)!
          return stats.idle === stats.total && stats.waiting === 0
        }, 5_000)
        const stats = poolStats(t.db)!
        expect(stats.total).toBeGreaterThan(0)
        expect(stats).toEqual({ total: stats.total, idle: stats.total, waiting: 0 })
        const stuck = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state like 'idle in transaction%'`.execute(t.db)
        expect(stuck.rows[0]!.n).toBe(0)
      }
      // The connection (on PGlite, the one session) is free: a new request runs at once.
      const started = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}/slow`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'after' }),
      })
      expect(res.status).toBe(200)
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(await names(t.db)).toEqual(['after', 'before'])
    })

    test('an abort that arrives while COMMIT is in flight waits for it: the commit stands and its callbacks run', async () => {
      const ran: string[] = []
      const uow = new UnitOfWork(t.db)
      await uow.db.insertInto('items').values({ name: 'committing' }).execute()
      uow.afterCommit(() => ran.push('after-commit'))
      t.statements.length = 0
      const commit = uow.commit()
      const abort = uow.rollback() // what the request scope does when the socket closes now
      const next = UnitOfWork.run(t.db, (other) => other.db.insertInto('items').values({ name: 'next' }).execute())
      await Promise.all([commit, abort, next])
      expect(uow.state).toBe('committed')
      expect(ran).toEqual(['after-commit'])
      expect(t.statements.filter((s) => /^rollback/i.test(s))).toEqual([])
      expect(await names(t.db)).toEqual(['committing', 'next'])
    })

    /**
     * A `singleWrite` POST whose handler writes `name` only once `beforeWrite` resolves, then waits for
     * `afterWrite` and registers an after-commit callback; the client hangs up in between.
     */
    async function abortSingleWrite(name: string, hangUp: 'before the write' | 'after the write') {
      const ran: string[] = []
      let unit: UnitOfWork | undefined
      let closed = false
      let outcome: string | undefined
      let entered!: () => void
      let wrote!: () => void
      let open!: () => void
      const hasEntered = new Promise<void>((resolve) => (entered = resolve))
      const hasWritten = new Promise<void>((resolve) => (wrote = resolve))
      const gate = new Promise<void>((resolve) => (open = resolve))
      const { app: single, logs } = await buildApp(t.db, (app) => {
        app.post('/single', { config: { uow: { singleWrite: true } } }, async (request, reply) => {
          // Registered after the request scope's own listener, so that one has run when this one does.
          reply.raw.once('close', () => (closed = true))
          unit = request.uow
          entered()
          try {
            if (hangUp === 'before the write') await gate
            await request.uow.db.insertInto('items').values({ name }).execute()
            wrote()
            if (hangUp === 'after the write') await gate
            request.uow.afterCommit(() => void ran.push(name))
            outcome = 'returned'
            return { ok: true }
          } catch (error) {
            outcome = (error as Error).name
            throw error
          }
        })
      })
      try {
        await single.listen({ host: '127.0.0.1', port: 0 })
        const body = JSON.stringify({})
        const req = http.request({
          host: '127.0.0.1',
          port: (single.server.address() as AddressInfo).port,
          method: 'POST',
          path: '/single',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        })
        req.on('error', () => {})
        req.end(body)
        await (hangUp === 'after the write' ? hasWritten : hasEntered)
        req.destroy()
        await eventually(() => closed)
        open()
        await eventually(() => outcome !== undefined && unit!.state !== 'open')
        await sleep(50) // after-commit callbacks run once the commit resolved
        return { ran, state: unit!.state, outcome, stored: (await names(t.db)).includes(name), errors: logs.filter((line) => line.level >= 50) }
      } finally {
        await single.close()
      }
    }

    test('a singleWrite unit whose write was sent when the client hung up commits: the row and its after-commit work stand', async () => {
      const result = await abortSingleWrite('kept', 'after the write')
      expect(result).toEqual({ ran: ['kept'], state: 'committed', outcome: 'returned', stored: true, errors: [] })
    })

    test('a singleWrite unit that had not sent its write when the client hung up stores nothing', async () => {
      const result = await abortSingleWrite('dropped', 'before the write')
      expect(result).toMatchObject({ ran: [], state: 'rolledBack', outcome: 'UnitOfWorkClosedError', stored: false })
    })
  })
})
