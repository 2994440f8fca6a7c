import { afterEach, describe, expect, test, vi } from 'vitest'
import { EventBus, type EventMessage } from '../src/extend.js'
import { expectNothingWithin } from '../src/testing/index.js'
import { busInbox, sendBusBarrier } from './support/bus-inbox.js'
import { transportCases } from './support/events-transports.js'

/** The contract every transport keeps, checked through real buses (and real servers for PostgreSQL and Redis). */
describe.each(transportCases())('$name transport', (transportCase) => {
  const buses: EventBus[] = []
  const errors: unknown[] = []
  let factory: ReturnType<typeof transportCase.fresh>

  const bus = async (label: string) => {
    factory ??= transportCase.fresh()
    const b = new EventBus({ transport: factory.make(label), onError: (error) => errors.push(error) })
    await b.start()
    buses.push(b)
    return b
  }
  const inbox = busInbox

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()))
    factory = undefined as never
    errors.length = 0
  })

  test('a message published on one bus reaches the other once, and its own subscribers once (no echo)', async () => {
    const a = await bus('a')
    const b = await bus('b')
    const atA = inbox(a)
    const atB = inbox(b)
    const elsewhere = inbox(b, 'other')
    await a.publish({ topics: ['t'], type: 'hello', data: { from: 'a' } })
    const hello = [{ topics: ['t'], type: 'hello', data: { from: 'a' } }]
    const beforeA = await sendBusBarrier(a)
    expect(await beforeA(atB)).toEqual(hello)
    expect(await beforeA(atA)).toEqual(hello)
    // An echo of a's message would come back through the transport, before b's barrier does.
    const beforeB = await sendBusBarrier(b)
    expect(await beforeB(atA)).toEqual([])
    expect(await (await sendBusBarrier(a, 'other'))(elsewhere)).toEqual([])
  })

  test('a 20 kB payload with non-ASCII text arrives intact', async () => {
    const a = await bus('a')
    const b = await bus('b')
    const atB = inbox(b)
    const text = 'Grüße, 世界 🚀 "quoted" \\ \n'.repeat(800)
    expect(Buffer.byteLength(JSON.stringify(text))).toBeGreaterThan(20_000)
    await a.publish({ topics: ['t'], type: 'big', data: { text } })
    await a.publish({ topics: ['t'], type: 'small', data: 1 })
    await atB.waitUntil((events) => events.length === 2)
    expect(atB.events[0]!.data).toEqual({ text })
    expect(atB.events.map((m) => m.type)).toEqual(['big', 'small'])
    expect(errors).toEqual([])
  })

  test('200 messages published concurrently by two buses arrive exactly once, in each publisher\'s order', async () => {
    const a = await bus('a')
    const b = await bus('b')
    const c = await bus('c')
    const atA = inbox(a)
    const atC = inbox(c)
    const sends: Promise<void>[] = []
    for (let n = 0; n < 100; n++) {
      // Every fifth message is large, so chunked and single envelopes interleave.
      const pad = n % 5 === 0 ? 'x'.repeat(9_000) : ''
      sends.push(a.publish({ topics: ['t'], type: 'from-a', data: { n, pad } }))
      sends.push(b.publish({ topics: ['t'], type: 'from-b', data: { n, pad } }))
    }
    await Promise.all(sends)
    await atC.waitUntil((events) => events.length >= 200, 10_000)
    await atA.waitUntil((events) => events.length >= 200, 10_000)
    // Barriers from both publishers: no repeat of anything either sent can still be on its way.
    const arrived: EventMessage[][] = [[], []]
    for (const from of [a, b]) {
      const before = await sendBusBarrier(from)
      for (const [i, at] of [atA, atC].entries()) arrived[i]!.push(...(await before(at)))
    }
    for (const received of arrived) {
      expect(received).toHaveLength(200)
      const order = (type: string) => received.filter((m) => m.type === type).map((m) => (m.data as { n: number }).n)
      const expected = Array.from({ length: 100 }, (_, n) => n)
      expect(order('from-a')).toEqual(expected)
      expect(order('from-b')).toEqual(expected)
    }
  })

  test('after close a bus receives nothing more and refuses to publish', async () => {
    const a = await bus('a')
    const b = await bus('b')
    const c = await bus('c')
    const atB = inbox(b)
    const atC = inbox(c)
    await b.close()
    await a.publish({ topics: ['t'], type: 'late', data: null })
    // The message went out (a live bus got it, before a barrier sent after it)…
    expect((await (await sendBusBarrier(a))(atC)).map((m) => m.type)).toEqual(['late'])
    // …and the closed one has no road left for a barrier to prove its absence: a bounded wait does.
    await expectNothingWithin(atB, 200)
    expect(() => b.publish({ topics: ['t'], type: 'x', data: null })).toThrow(/closed/)
  })

  if (transportCase.kill) {
    const kill = transportCase.kill
    test('delivery resumes, in order and without repeats, after the receiving connection is cut', async () => {
      const a = await bus('a')
      const b = await bus('b')
      const atB = inbox(b)
      await kill(b.transport)
      // Probes until the receiver is back (events sent while it reconnects are lost to it, by design).
      let probe = 0
      await vi.waitFor(
        async () => {
          await a.publish({ topics: ['t'], type: 'probe', data: probe++ })
          expect(atB.events.some((m) => m.type === 'probe')).toBe(true)
        },
        { timeout: 15_000, interval: 100 },
      )
      for (let n = 0; n < 20; n++) void a.publish({ topics: ['t'], type: 'after', data: n })
      await atB.waitUntil((events) => events.filter((m) => m.type === 'after').length >= 20)
      const received = await (await sendBusBarrier(a))(atB)
      expect(received.filter((m) => m.type === 'after').map((m) => m.data)).toEqual(Array.from({ length: 20 }, (_, n) => n))
      const probes = received.filter((m) => m.type === 'probe').map((m) => m.data as number)
      expect(new Set(probes).size).toBe(probes.length)
    })
  }
})
