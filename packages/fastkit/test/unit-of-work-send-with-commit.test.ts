import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { sql } from 'kysely'
import { afterEach, describe, expect, test } from 'vitest'
import { EventPublisher, PostgresTransport, UnitOfWork } from '../src/index.js'
import { EventBus, type EventMessage } from '../src/extend.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { uniqueChannel } from './support/events-transports.js'
import { useTestDatabase } from './support/harness.js'

const names = async (db: ReturnType<typeof useTestDatabase>['db']) =>
  (await db.selectFrom('items').select('name').orderBy('name').execute()).map((row) => row.name)

const verb = (statement: string) => statement.trim().split(/\s+/)[0]!.toLowerCase()

describe.each(dialectsUnderTest())('UnitOfWork.sendWithCommit on %s', (kind) => {
  const t = useTestDatabase(kind)

  test('queued statements go out after the before-commit callbacks, in order, right before COMMIT', async () => {
    t.statements.length = 0
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'written' }).execute()
      uow.sendWithCommit(uow.db.insertInto('items').values({ name: 'queued-1' }))
      uow.beforeCommit(async () => {
        await uow.db.selectFrom('items').select('id').execute()
        uow.sendWithCommit(sql`insert into items (name) values (${'queued-2'})`.compile(uow.db))
      })
    })
    expect(t.statements.map(verb)).toEqual(['begin', 'insert', 'select', 'insert', 'insert', 'commit'])
    expect(await names(t.db)).toEqual(['queued-1', 'queued-2', 'written'])
  })

  test('a failing queued statement fails the commit with its error, stores nothing and skips after-commit callbacks', async () => {
    const calls: string[] = []
    const uow = new UnitOfWork(t.db)
    await uow.db.insertInto('items').values({ name: 'lost' }).execute()
    uow.afterCommit(() => calls.push('after'))
    uow.beforeCommit(() => uow.sendWithCommit(sql`select 1/0`.compile(uow.db)))
    await expect(uow.commit()).rejects.toMatchObject({ code: '22012' })
    expect(uow.state).toBe('rolledBack')
    await uow.rollback()
    expect(calls).toEqual([])
    expect(t.statements.map(verb)).toEqual(['begin', 'insert', 'select', 'commit'])
    // The connection went back (on PGlite, the one session): the next unit works.
    await UnitOfWork.run(t.db, (next) => next.db.insertInto('items').values({ name: 'next' }).execute())
    expect(await names(t.db)).toEqual(['next'])
  })

  test('a queued statement failing after another succeeded still rolls back both', async () => {
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'taken' }).execute()
        uow.sendWithCommit(uow.db.insertInto('items').values({ name: 'fine' }))
        uow.sendWithCommit(uow.db.insertInto('items').values({ name: 'taken' }))
      }),
    ).rejects.toMatchObject({ code: '23505' })
    expect(await names(t.db)).toEqual([])
  })

  test('rollback drops queued statements, and so does a savepoint that rolls back', async () => {
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'a' }).execute()
        uow.sendWithCommit(uow.db.insertInto('items').values({ name: 'dropped-with-unit' }))
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'outer' }).execute()
      await uow.nested(async () => uow.sendWithCommit(uow.db.insertInto('items').values({ name: 'kept' })))
      await uow
        .nested(async () => {
          uow.sendWithCommit(uow.db.insertInto('items').values({ name: 'dropped-with-savepoint' }))
          throw new Error('inner')
        })
        .catch(() => {})
    })
    expect(await names(t.db)).toEqual(['kept', 'outer'])
  })

  test('a unit with no transaction sends a plain select through the pool, begins one for anything else, and a failure fails the commit', async () => {
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.selectFrom('items').select('id').execute()
      uow.sendWithCommit(uow.db.selectFrom('items').select('name'))
    })
    expect(t.statements.map(verb)).toEqual(['select', 'select'])
    t.statements.length = 0
    await UnitOfWork.run(t.db, async (uow) => {
      uow.sendWithCommit(uow.db.selectFrom('items').select('name'))
      uow.sendWithCommit(sql`insert into items (name) values (${'raw'})`.compile(uow.db))
    })
    expect(t.statements.map(verb)).toEqual(['select', 'begin', 'insert', 'commit'])
    expect(await names(t.db)).toEqual(['raw'])
    const calls: string[] = []
    const uow = new UnitOfWork(t.db)
    uow.afterCommit(() => calls.push('after'))
    uow.sendWithCommit(sql`select 1/0`.compile(uow.db))
    await expect(uow.commit()).rejects.toMatchObject({ code: '22012' })
    expect(uow.state).toBe('rolledBack')
    expect(calls).toEqual([])
  })

  test('refuses parameters the driver might fail to serialize, and statements once the commit began sending', async () => {
    const uow = new UnitOfWork(t.db)
    expect(() => uow.sendWithCommit(sql`select ${{ a: 1 } as unknown as string}::jsonb`.compile(uow.db))).toThrow(TypeError)
    uow.sendWithCommit(sql`select ${['a', 'b']}::text[], ${1n}::int8, ${new Date(0)}::timestamptz, ${null}::text`.compile(uow.db))
    await uow.commit()
    expect(() => uow.sendWithCommit(sql`select 1`.compile(uow.db))).toThrow('already committed')
  })
})

/**
 * What the app sees of node-postgres: when each statement is handed to a client (`send`), whether
 * the client wrote it to the socket right then (`written`, else it waits in the client's queue for
 * the answer to the one before), and when its answer is handed back to the app (`answer`, through
 * the query's callback or the promise the client returned).
 */
function recordPgClients(): { log: string[]; restore: () => void } {
  const log: string[] = []
  const original = pg.Client.prototype.query
  const writes = new WeakMap<object, { count: number }>()
  const countWrites = (client: pg.Client) => {
    const stream = (client as unknown as { connection: { stream: { write: (...a: unknown[]) => boolean } } }).connection.stream
    let counter = writes.get(stream)
    if (!counter) {
      const c = { count: 0 }
      counter = c
      writes.set(stream, c)
      const write = stream.write
      stream.write = function (this: unknown, ...args: unknown[]) {
        c.count++
        return write.apply(this, args)
      }
    }
    return counter
  }
  pg.Client.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
    const text = (typeof config === 'string' ? config : (config as { text?: string } | undefined)?.text) ?? '?'
    const label = verb(text) === 'select' && text.includes('pg_notify') ? 'notify' : verb(text)
    log.push(`send ${label}`)
    const counter = countWrites(this)
    const before = counter.count
    // fastkit's pool hands the client a pg.Query and waits on its callback; a text or config object
    // gets a promise back.
    const query = config as { submit?: unknown; callback?: (error: unknown, result: unknown) => void }
    if (typeof query?.submit === 'function') {
      const callback = query.callback
      query.callback = (error, result) => {
        log.push(`${error ? 'failed' : 'answer'} ${label}`)
        callback?.(error, result)
      }
    }
    const result = (original as (...args: unknown[]) => unknown).call(this, config, ...rest)
    log.push(`${counter.count > before ? 'written' : 'queued'} ${label}`)
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      ;(result as Promise<unknown>).then(
        () => log.push(`answer ${label}`),
        () => log.push(`failed ${label}`),
      )
    }
    return result
  } as typeof original
  return { log, restore: () => (pg.Client.prototype.query = original) }
}

if (dialectsUnderTest().includes('postgres')) {
  describe('sendWithCommit on PostgreSQL: no trip through the app between the last statement and COMMIT', () => {
    const t = useTestDatabase('postgres')
    let restore: (() => void) | undefined
    afterEach(() => {
      restore?.()
      restore = undefined
    })

    test('COMMIT is written to the server right behind the queued NOTIFY, before its answer', async () => {
      const recorder = recordPgClients()
      restore = recorder.restore
      await UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'x' }).execute()
        uow.beforeCommit(() => uow.sendWithCommit(sql`select pg_notify(${'fastkit_test_unused'}, ${'payload'})`.compile(uow.db)))
      })
      const { log } = recorder
      expect(log.filter((entry) => entry.startsWith('send'))).toEqual(['send begin', 'send insert', 'send notify', 'send commit'])
      // Both on the wire before the NOTIFY's answer reached the app: the server runs the COMMIT
      // without waiting for this process at all.
      expect(log.indexOf('written commit')).toBeGreaterThan(log.indexOf('written notify'))
      expect(log.indexOf('written commit')).toBeLessThan(log.indexOf('answer notify'))
      expect(log.indexOf('answer notify')).toBeLessThan(log.indexOf('answer commit'))
      // Lone statements are written as before (the client leaves pipeline mode once idle).
      expect(log.filter((entry) => entry.startsWith('queued'))).toEqual([])
    })

    test('a queued statement that times out, or loses the connection, fails the commit and stores nothing; the pool recovers', async () => {
      const calls: string[] = []
      await expect(
        UnitOfWork.run(
          t.db,
          async (uow) => {
            await uow.db.insertInto('items').values({ name: 'slow' }).execute()
            uow.afterCommit(() => calls.push('after'))
            uow.sendWithCommit(sql`select pg_sleep(2)`.compile(uow.db))
          },
          { statementTimeoutMs: 100 },
        ),
      ).rejects.toMatchObject({ code: '57014' })
      await expect(
        UnitOfWork.run(t.db, async (uow) => {
          await uow.db.insertInto('items').values({ name: 'lost' }).execute()
          uow.afterCommit(() => calls.push('after'))
          uow.sendWithCommit(sql`select pg_terminate_backend(pg_backend_pid())`.compile(uow.db))
        }),
      ).rejects.toMatchObject({ code: '57P01' })
      expect(calls).toEqual([])
      for (let i = 0; i < 3; i++) await UnitOfWork.run(t.db, (uow) => uow.db.insertInto('items').values({ name: `next-${i}` }).execute())
      expect(await names(t.db)).toEqual(['next-0', 'next-1', 'next-2'])
    })

    test('an EventPublisher on the PostgreSQL transport queues its NOTIFY with the COMMIT; the event arrives once committed', async () => {
      const bus = new EventBus({ transport: new PostgresTransport({ url: t.url, channel: uniqueChannel('fastkit_swc') }) })
      await bus.start()
      try {
        const received: EventMessage[] = []
        bus.subscribe('t', (message) => received.push(message))
        const recorder = recordPgClients()
        restore = recorder.restore
        const id = randomUUID()
        await UnitOfWork.run(t.db, async (uow) => {
          await uow.db.insertInto('items').values({ name: 'evented' }).execute()
          new EventPublisher(uow, bus).publish('t', { type: 'created', data: id })
        })
        restore()
        restore = undefined
        const { log } = recorder
        expect(log.indexOf('written commit')).toBeGreaterThan(log.indexOf('written notify'))
        expect(log.indexOf('written commit')).toBeLessThan(log.indexOf('answer notify'))
        await expect.poll(() => received.map((m) => m.data)).toEqual([id])

        // A unit whose commit fails (a queued statement ahead of the NOTIFY fails) delivers nothing.
        await expect(
          UnitOfWork.run(t.db, async (uow) => {
            await uow.db.insertInto('items').values({ name: 'rolled-back' }).execute()
            new EventPublisher(uow, bus).publish('t', { type: 'created', data: 'never' })
            uow.sendWithCommit(sql`select 1/0`.compile(uow.db))
          }),
        ).rejects.toMatchObject({ code: '22012' })
        const barrier = randomUUID()
        await UnitOfWork.run(t.db, async (uow) => new EventPublisher(uow, bus).publish('t', { type: 'barrier', data: barrier }))
        await expect.poll(() => received.map((m) => m.data)).toEqual([id, barrier])
        expect(await names(t.db)).toEqual(['evented'])
      } finally {
        await bus.close()
      }
    })

    test('EventBus.publishInTransaction given the unit queues the NOTIFY with the COMMIT; given uow.db it runs it at once, as before', async () => {
      const bus = new EventBus({ transport: new PostgresTransport({ url: t.url, channel: uniqueChannel('fastkit_swc') }) })
      await bus.start()
      try {
        const received: unknown[] = []
        bus.subscribe('t', (message) => received.push(message.data))
        const logs: string[][] = []
        for (const target of ['uow', 'db'] as const) {
          const recorder = recordPgClients()
          restore = recorder.restore
          await UnitOfWork.run(t.db, async (uow) => {
            await uow.db.insertInto('items').values({ name: target }).execute()
            uow.beforeCommit(() => bus.publishInTransaction(target === 'uow' ? uow : uow.db, { topics: ['t'], type: 'x', data: target }))
          })
          restore()
          restore = undefined
          logs.push(recorder.log)
        }
        const [withUnit, withDb] = logs as [string[], string[]]
        expect(withUnit.indexOf('written commit')).toBeGreaterThan(withUnit.indexOf('written notify'))
        expect(withUnit.indexOf('written commit')).toBeLessThan(withUnit.indexOf('answer notify'))
        expect(withDb.indexOf('answer notify')).toBeLessThan(withDb.indexOf('send commit'))
        await expect.poll(() => received).toEqual(['uow', 'db'])
      } finally {
        await bus.close()
      }
    })
  })
}
