import { afterEach, describe, expect, test, vi } from 'vitest'
import { EventBus, type EventMessage } from '../src/extend.js'
import { settle } from './support/events-client.js'
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
  const inbox = (b: EventBus, topic = 't') => {
    const received: EventMessage[] = []
    b.subscribe(topic, (message) => received.push(message))
    return received
  }

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
    await vi.waitFor(() => expect(atB).toHaveLength(1), { timeout: 5_000 })
    await settle(200)
    expect(atA).toEqual([{ topics: ['t'], type: 'hello', data: { from: 'a' } }])
    expect(atB).toEqual([{ topics: ['t'], type: 'hello', data: { from: 'a' } }])
    expect(elsewhere).toEqual([])
  })

  test('a 20 kB payload with non-ASCII text arrives intact', async () => {
    const a = await bus('a')
    const b = await bus('b')
    const atB = inbox(b)
    const text = 'Grüße, 世界 🚀 "quoted" \\ \n'.repeat(800)
    expect(Buffer.byteLength(JSON.stringify(text))).toBeGreaterThan(20_000)
    await a.publish({ topics: ['t'], type: 'big', data: { text } })
    await a.publish({ topics: ['t'], type: 'small', data: 1 })
    await vi.waitFor(() => expect(atB).toHaveLength(2), { timeout: 5_000 })
    expect(atB[0]!.data).toEqual({ text })
    expect(atB.map((m) => m.type)).toEqual(['big', 'small'])
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
    await vi.waitFor(() => expect(atC).toHaveLength(200), { timeout: 10_000 })
    await vi.waitFor(() => expect(atA).toHaveLength(200), { timeout: 10_000 })
    await settle(200)
    for (const received of [atA, atC]) {
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
    const atB = inbox(b)
    await b.close()
    await a.publish({ topics: ['t'], type: 'late', data: null })
    await settle(200)
    expect(atB).toEqual([])
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
          expect(atB.some((m) => m.type === 'probe')).toBe(true)
        },
        { timeout: 15_000, interval: 100 },
      )
      for (let n = 0; n < 20; n++) void a.publish({ topics: ['t'], type: 'after', data: n })
      await vi.waitFor(() => expect(atB.filter((m) => m.type === 'after')).toHaveLength(20), { timeout: 5_000 })
      await settle(200)
      expect(atB.filter((m) => m.type === 'after').map((m) => m.data)).toEqual(Array.from({ length: 20 }, (_, n) => n))
      const probes = atB.filter((m) => m.type === 'probe').map((m) => m.data as number)
      expect(new Set(probes).size).toBe(probes.length)
    })
  }
})
