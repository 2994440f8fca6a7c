import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { EventPublisher, MemoryHub, MemoryTransport, provide, UnitOfWork, userTopic } from '../src/index.js'
import { EventBus, type EventMessage } from '../src/extend.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import { buildEventsApp } from './support/events-app.js'
import { busInbox, sendBusBarrier } from './support/bus-inbox.js'

/** A typed publisher, as an app declares one: the event map checks every `publish` at compile time. */
class ItemEvents extends EventPublisher<{ 'item.renamed': { id: string; name: string }; 'item.deleted': { id: string } }> {}

function collect(bus: EventBus, topics: string | string[]): EventMessage[] {
  const received: EventMessage[] = []
  bus.subscribe(topics, (message) => received.push(message))
  return received
}

describe('EventBus', () => {
  const buses: EventBus[] = []
  const started = async (hub?: MemoryHub, onError?: (error: unknown) => void) => {
    const bus = new EventBus({ transport: new MemoryTransport(hub ? { hub } : {}), ...(onError ? { onError } : {}) })
    await bus.start()
    buses.push(bus)
    return bus
  }
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()))
  })

  test('delivers a message once to each subscriber of its topics, even one subscribed to several of them', async () => {
    const bus = await started()
    const both = collect(bus, ['user:a', 'user:b'])
    const onlyB = collect(bus, 'user:b')
    const other = collect(bus, 'user:c')
    await bus.publish({ topics: ['user:a', 'user:b'], type: 'hello', data: { n: 1 } })
    expect(both).toEqual([{ topics: ['user:a', 'user:b'], type: 'hello', data: { n: 1 } }])
    expect(onlyB).toHaveLength(1)
    expect(other).toEqual([])
  })

  test('another bus on the same hub receives each message once; the publisher never gets its own echo', async () => {
    const hub = new MemoryHub()
    const a = await started(hub)
    const b = await started(hub)
    const atA = busInbox(a)
    const atB = busInbox(b)
    for (let n = 0; n < 5; n++) void a.publish({ topics: ['t'], type: 'n', data: n })
    const beforeA = await sendBusBarrier(a)
    expect((await beforeA(atA)).map((m) => m.data)).toEqual([0, 1, 2, 3, 4])
    expect((await beforeA(atB)).map((m) => m.data)).toEqual([0, 1, 2, 3, 4])
    // An echo through the hub would reach a before b's barrier does.
    expect(await (await sendBusBarrier(b))(atA)).toEqual([])
  })

  test('deliver reaches only this process: its subscribers at once, as JSON, and no other bus on the hub', async () => {
    const hub = new MemoryHub()
    const a = await started(hub)
    const b = await started(hub)
    const atA = busInbox(a)
    const atB = busInbox(b)
    a.deliver([
      { topics: ['t'], type: 'n', data: { at: new Date('2030-01-01T00:00:00Z') } },
      { topics: ['t'], type: 'n', data: 2 },
    ])
    // Synchronous: already there before any await.
    expect(atA.events.map((m) => m.data)).toEqual([{ at: '2030-01-01T00:00:00.000Z' }, 2])
    // The barrier comes through the hub after anything a's transport would have carried.
    expect(await (await sendBusBarrier(a))(atB)).toEqual([])
    await a.close()
    expect(() => a.deliver({ topics: ['t'], type: 'n', data: 3 })).toThrow('closed')
  })

  // Few subscribed topics are looked up in each message, many the other way round: both ways are covered.
  test.each([0, 8])('deliver checks every message first, and copies only those that reach a subscriber here (%i more topics subscribed)', async (more) => {
    const bus = await started()
    const received = collect(bus, 'watched')
    for (let i = 0; i < more; i++) collect(bus, `other-${i}`)
    let copies = 0
    const data = (n: number) => ({ n, toJSON: () => ((copies += 1), { n }) })
    expect(() => bus.deliver([{ topics: ['watched'], type: 'n', data: data(0) }, { topics: 'watched' as never, type: 'n', data: 1 }])).toThrow('topics')
    expect(received).toEqual([])
    bus.deliver([
      { topics: ['nobody'], type: 'n', data: data(1) },
      { topics: ['nobody', 'watched'], type: 'n', data: data(2) },
      { topics: [], type: 'n', data: data(3) },
    ])
    expect(received.map((m) => m.data)).toEqual([{ n: 2 }])
    expect(copies).toBe(1)
    await bus.close()
  })

  test('copies data through JSON when publishing: later changes are not seen, dates become strings', async () => {
    const bus = await started()
    const received = collect(bus, 't')
    const data = { at: new Date('2030-01-01T00:00:00Z'), tags: ['x'] }
    await bus.publish({ topics: ['t'], type: 'snap', data })
    data.tags.push('changed later')
    expect(received[0]!.data).toEqual({ at: '2030-01-01T00:00:00.000Z', tags: ['x'] })
  })

  test('unsubscribing stops delivery, and a throwing listener is reported without stopping the others', async () => {
    const errors: unknown[] = []
    const bus = await started(undefined, (error) => errors.push(error))
    bus.subscribe('t', () => {
      throw new Error('listener bug')
    })
    const kept = collect(bus, 't')
    const dropped: EventMessage[] = []
    const off = bus.subscribe('t', (message) => dropped.push(message))
    off()
    await bus.publish({ topics: ['t'], type: 'x', data: null })
    expect(kept).toHaveLength(1)
    expect(dropped).toEqual([])
    expect(errors).toHaveLength(1)
    expect(bus.topicCount).toBe(1)
  })

  test('refuses malformed messages and publishing on a closed bus', async () => {
    const bus = await started()
    expect(() => bus.publish({ topics: 'user:a' as never, type: 'x', data: 1 })).toThrow(/topics/)
    expect(() => bus.publish({ topics: ['t'], type: '', data: 1 })).toThrow(/type/)
    await bus.close()
    expect(() => bus.publish({ topics: ['t'], type: 'x', data: 1 })).toThrow(/closed/)
  })
})

describe.each(dialectsUnderTest())('EventPublisher on %s', (kind) => {
  const t = useTestDatabase(kind)
  let bus: EventBus
  let received: ReturnType<typeof busInbox>

  beforeAll(async () => {
    bus = new EventBus()
    await bus.start()
  })
  afterAll(() => bus.close())
  afterEach(() => {
    received?.off()
  })
  const listen = (topic: string) => {
    received = busInbox(bus, topic)
    return received.off
  }
  /** What `received` got before a barrier published on the bus now, outside any unit of work. */
  const receivedBeforeBarrier = async (topic: string) => (await sendBusBarrier(bus, topic))(received)

  test('an event published inside a unit of work is delivered only after the commit', async () => {
    const off = listen('user:alice')
    await UnitOfWork.run(t.db, async (uow) => {
      const events = new EventPublisher(uow, bus)
      const row = await uow.db.insertInto('items').values({ name: 'a' }).returning(['id', 'name']).executeTakeFirstOrThrow()
      events.publish(userTopic('alice'), { type: 'item.created', data: row })
      // Held by the unit: a message published on the bus after it arrives first.
      expect(await receivedBeforeBarrier(userTopic('alice'))).toEqual([])
    })
    expect(received.events).toMatchObject([{ topics: ['user:alice'], type: 'item.created', data: { name: 'a' } }])
    off()
  })

  test('a unit that rolls back delivers nothing', async () => {
    const off = listen('user:alice')
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'b' }).execute()
        new EventPublisher(uow, bus).publish('user:alice', { type: 'item.created', data: { name: 'b' } })
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await receivedBeforeBarrier('user:alice')).toEqual([])
    expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
    off()
  })

  test('an event published inside a savepoint that rolled back is dropped; the others go out in order', async () => {
    const off = listen('t')
    await UnitOfWork.run(t.db, async (uow) => {
      const events = new EventPublisher(uow, bus)
      events.publish('t', { type: 'first', data: 1 })
      await expect(
        uow.nested(async () => {
          await uow.db.insertInto('items').values({ name: 'inner' }).execute()
          events.publish('t', { type: 'inner', data: 2 })
          throw new Error('inner failed')
        }),
      ).rejects.toThrow('inner failed')
      await uow.nested(async () => {
        await uow.db.insertInto('items').values({ name: 'kept' }).execute()
        events.publish('t', { type: 'kept', data: 3 })
      })
      events.publish('t', { type: 'last', data: 4 })
    })
    expect(received.events.map((m) => m.type)).toEqual(['first', 'kept', 'last'])
    off()
  })

  test('throws at publish time when the data cannot be sent as JSON', async () => {
    await UnitOfWork.run(t.db, async (uow) => {
      expect(() => new EventPublisher(uow, bus).publish('t', { type: 'x', data: { n: 1n } })).toThrow(/BigInt/)
    })
  })

  describe('inside a request', () => {
    let app: FastifyInstance
    const publishers: EventPublisher[] = []
    beforeAll(async () => {
      app = await buildEventsApp({ db: t.db })
      provide(app.container, ItemEvents)
      app.post('/typed', async (request) => {
        const events = request.container.resolve(ItemEvents)
        events.publish('typed', { type: 'item.renamed', data: { id: '1', name: 'new' } })
        // @ts-expect-error the data of 'item.deleted' is { id }, so a name is refused at compile time
        expect(() => events.publish('typed', { type: 'item.deleted', data: { name: 'x' } })).not.toThrow()
        // @ts-expect-error an event type outside the map is refused at compile time
        events.publish('typed', { type: 'item.exploded', data: { id: '1' } })
        return { ok: true }
      })
      app.get('/two-publishers', async (request) => {
        publishers.push(request.container.resolve(EventPublisher), request.container.resolve(EventPublisher))
        return { ok: true }
      })
    })
    afterAll(() => app.close())

    test('the request-scoped publisher sends after a 2xx commit, and nothing when the request fails', async () => {
      const got = busInbox(app.events, 'user:alice')
      const ok = await app.inject({ method: 'POST', url: '/items', payload: { name: 'ok', topics: ['user:alice'], type: 'item.created' } })
      expect(ok.statusCode).toBe(201)
      const failed = await app.inject({
        method: 'POST',
        url: '/items',
        payload: { name: 'no', topics: ['user:alice'], type: 'item.created', fail: true },
      })
      expect(failed.statusCode).toBe(409)
      expect(await (await sendBusBarrier(app.events, 'user:alice'))(got)).toMatchObject([{ type: 'item.created', data: { name: 'ok', id: ok.json().id } }])
      expect((await t.db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['ok'])
      got.off()
    })

    test('a typed publisher subclass is injectable like the base one and sends after the commit', async () => {
      const got: EventMessage[] = []
      const off = app.events.subscribe('typed', (message) => got.push(message))
      expect((await app.inject({ method: 'POST', url: '/typed' })).statusCode).toBe(200)
      expect(got.map((m) => m.type)).toEqual(['item.renamed', 'item.deleted', 'item.exploded'])
      off()
    })

    test('each request gets its own publisher, bound to its own unit of work', async () => {
      await app.inject({ method: 'GET', url: '/two-publishers' })
      await app.inject({ method: 'GET', url: '/two-publishers' })
      expect(publishers[0]).toBe(publishers[1])
      expect(publishers[2]).not.toBe(publishers[0])
    })
  })
})
