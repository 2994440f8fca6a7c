import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { Kysely } from 'kysely'
import { createDatabase, EventPublisher, PostgresTransport, UnitOfWork } from '../src/index.js'
import { EventBus, type EventMessage } from '../src/extend.js'
import { createTestDatabase, dialectsUnderTest, takeUntilBarrier, type RecordingInbox, type TestDatabase } from '../src/testing/index.js'
import { busInbox, sendBusBarrier } from './support/bus-inbox.js'
import { uniqueChannel } from './support/events-transports.js'
import { testMigrations, type TestDB } from './support/schema.js'

/**
 * Events of units of work sent with the PostgreSQL transport's `publishInTransaction`: NOTIFYed as
 * part of the transaction, so every bus, the sender's included, receives them in commit order.
 * LISTEN/NOTIFY needs a PostgreSQL server: registered only when PostgreSQL is under test.
 */
if (dialectsUnderTest().includes('postgres')) {
  describe('events sent inside the transaction (PostgreSQL transport)', () => {
    let t: TestDatabase<TestDB>
    /** A second pool on the same database, as a second process would have. */
    let otherDb: Kysely<TestDB>
    let buses: EventBus[]
    const errors: unknown[] = []

    beforeAll(async () => {
      t = await createTestDatabase<TestDB>('postgres', { migrations: { migrations: testMigrations } })
      otherDb = createDatabase<TestDB>({ url: t.url, pool: { max: 10 } })
    })
    afterAll(async () => {
      await otherDb?.destroy()
      await t?.destroy()
    })

    beforeAll(async () => {
      const channel = uniqueChannel('fastkit_test')
      buses = ['a', 'b', 'listener'].map(
        (label) =>
          new EventBus({
            transport: new PostgresTransport({ url: t.url, channel, applicationName: `fk-tx-${label}` }),
            onError: (error) => errors.push(error),
          }),
      )
      await Promise.all(buses.map((bus) => bus.start()))
    })
    afterAll(async () => {
      await Promise.all(buses.map((bus) => bus.close()))
    })
    afterEach(async () => {
      await t.db.deleteFrom('items').execute()
      expect(errors).toEqual([])
    })

    const inbox = busInbox
    /**
     * Commits a `barrier` event in a unit of work of its own, and returns what each inbox received
     * before it: like the events under test, it comes back through LISTEN to every bus (the
     * sender's included) in commit order.
     */
    const commitBarrier = async () => {
      const id = randomUUID()
      await UnitOfWork.run(t.db, async (uow) => new EventPublisher(uow, buses[0]!).publish('t', { type: 'barrier', data: id }))
      const isBarrier = (message: EventMessage) => message.type === 'barrier' && message.data === id
      return (received: RecordingInbox<EventMessage>) => takeUntilBarrier(received, () => isBarrier)
    }

    test('the bus knows its transport sends inside the transaction', () => {
      expect(buses[0]!.transactional).toBe(true)
      expect(new EventBus().transactional).toBe(false)
    })

    test('events of two buses, committed concurrently, reach every listener in commit order, each once', async () => {
      const [a, b] = buses as [EventBus, EventBus, EventBus]
      const inboxes = buses.map((bus) => inbox(bus))
      await t.db.insertInto('items').values({ name: 'counter', qty: 0 }).execute()
      const units = 120
      // Each unit takes the counter row's lock and keeps it until its COMMIT, so the value it reads
      // is its rank in commit order. Units alternate between the buses (and their pools), with
      // jitter, so that the two senders' commits interleave.
      await Promise.all(
        Array.from({ length: units }, (_, n) => {
          const [bus, db] = n % 2 === 0 ? [a, t.db] : [b, otherDb]
          return UnitOfWork.run(db, async (uow) => {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 10))
            const row = await uow.db
              .updateTable('items')
              .set((eb) => ({ qty: eb('qty', '+', 1) }))
              .where('name', '=', 'counter')
              .returning('qty')
              .executeTakeFirstOrThrow()
            new EventPublisher(uow, bus).publish('t', { type: 'counted', data: { value: row.qty, via: n % 2 } })
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
          })
        }),
      )
      for (const received of inboxes) await received.waitUntil((events) => events.length >= units, 10_000)
      const before = await commitBarrier()
      const expected = Array.from({ length: units }, (_, i) => i + 1)
      for (const inbox of inboxes) {
        const received = await before(inbox)
        expect(received.map((m) => (m.data as { value: number }).value)).toEqual(expected)
        // Both senders are represented: the order above interleaves them.
        expect(new Set(received.map((m) => (m.data as { via: number }).via))).toEqual(new Set([0, 1]))
      }
      for (const received of inboxes) received.off()
    }, 30_000)

    test('the sender delivers its own event only when LISTEN brings it back, after the commit', async () => {
      const [a] = buses as [EventBus]
      const atA = inbox(a)
      await UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'x' }).execute()
        new EventPublisher(uow, a).publish('t', { type: 'created', data: { name: 'x' } })
        // Another unit commits a barrier meanwhile: it comes back, this unit's event does not.
        expect(await (await commitBarrier())(atA)).toEqual([])
      })
      expect(await (await commitBarrier())(atA)).toEqual([{ topics: ['t'], type: 'created', data: { name: 'x' } }])
      atA.off()
    })

    test('a singleWrite unit hands its event to the bus after the write, never inside a transaction', async () => {
      const [a, b] = buses as [EventBus, EventBus]
      const atA = inbox(a)
      const atB = inbox(b)
      const uow = new UnitOfWork(t.db, { singleWrite: true })
      await uow.db.insertInto('items').values({ name: 'alone' }).execute()
      new EventPublisher(uow, a).publish('t', { type: 'created', data: { name: 'alone' } })
      // Not NOTIFYed with a commit: nothing has gone out yet.
      expect(atA.events).toEqual([])
      await uow.commit()
      expect(uow.inTransaction).toBe(false)
      // Delivered by its own bus at once (not in transaction), and to the others through the transport.
      expect(atA.events.map((m) => m.type)).toEqual(['created'])
      // A barrier published by the same bus travels the same road, after it.
      const before = await sendBusBarrier(a)
      expect((await before(atB)).map((m) => m.type)).toEqual(['created'])
      atA.off()
      atB.off()
    })

    test('a unit that rolls back sends nothing, to the sender or anyone else', async () => {
      const [a] = buses as [EventBus]
      const inboxes = buses.map((bus) => inbox(bus))
      await expect(
        UnitOfWork.run(t.db, async (uow) => {
          await uow.db.insertInto('items').values({ name: 'lost' }).execute()
          new EventPublisher(uow, a).publish('t', { type: 'lost', data: null })
          throw new Error('rolled back')
        }),
      ).rejects.toThrow('rolled back')
      // A savepoint that rolls back drops its events too, inside a unit that commits.
      await UnitOfWork.run(t.db, async (uow) => {
        const events = new EventPublisher(uow, a)
        await uow
          .nested(async () => {
            await uow.db.insertInto('items').values({ name: 'inner' }).execute()
            events.publish('t', { type: 'lost-in-savepoint', data: null })
            throw new Error('inner failed')
          })
          .catch(() => {})
        await uow.db.insertInto('items').values({ name: 'kept' }).execute()
        events.publish('t', { type: 'kept', data: null })
      })
      const before = await commitBarrier()
      for (const received of inboxes) {
        expect((await before(received)).map((m) => m.type)).toEqual(['kept'])
        received.off()
      }
      expect((await t.db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['kept'])
    })

    test('a payload over 8000 bytes sent in a transaction arrives intact, before the next event of the same unit', async () => {
      const [a, b] = buses as [EventBus, EventBus]
      const atA = inbox(a)
      const atB = inbox(b)
      const text = 'Grüße, 世界 🚀 "quoted" \\ \n'.repeat(800)
      expect(Buffer.byteLength(JSON.stringify(text))).toBeGreaterThan(20_000)
      await UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'big' }).execute()
        const events = new EventPublisher(uow, a)
        events.publish('t', { type: 'big', data: { text } })
        events.publish('t', { type: 'small', data: 1 })
      })
      for (const received of [atA, atB]) {
        await received.waitUntil((events) => events.length === 2)
        expect(received.events.map((m) => m.type)).toEqual(['big', 'small'])
        expect(received.events[0]!.data).toEqual({ text })
        received.off()
      }
    })

    test('a unit that only read still sends its event (its NOTIFY commits on its own)', async () => {
      const [a, b] = buses as [EventBus, EventBus]
      const atB = inbox(b)
      await UnitOfWork.run(t.db, async (uow) => {
        await uow.db.selectFrom('items').selectAll().execute()
        new EventPublisher(uow, a).publish('t', { type: 'read-only', data: null })
      })
      await atB.waitUntil((events) => events.some((m) => m.type === 'read-only'))
      expect(atB.events.map((m) => m.type)).toEqual(['read-only'])
      atB.off()
    })
  })
}
