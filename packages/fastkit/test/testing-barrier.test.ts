import { describe, expect, test } from 'vitest'
import { createInbox, expectNothingWithin, takeUntilBarrier } from '../src/testing/index.js'

/** fastkit/testing's inboxes and barriers, on an inbox the test fills itself (a gateway's frames in events-gateway.test.ts). */
describe('createInbox', () => {
  test('waitUntil resolves as soon as the predicate holds, checked now and on every arrival', async () => {
    const inbox = createInbox<number>()
    inbox.push(1)
    expect(await inbox.waitUntil((events) => events.length === 1)).toEqual([1])
    const two = inbox.waitUntil((events) => events.includes(2))
    setImmediate(() => inbox.push(2))
    expect(await two).toEqual([1, 2])
  })

  test('waitUntil rejects after its timeout, saying what did arrive', async () => {
    const inbox = createInbox<string>()
    inbox.push('only this')
    await expect(inbox.waitUntil((events) => events.length === 2, 50)).rejects.toThrow(/timed out after 50 ms; received 1 event\(s\), the last ones: \["only this"\]/)
  })
})

describe('takeUntilBarrier', () => {
  test('returns what arrived before the marker, and leaves what arrived after it for the next call', async () => {
    const inbox = createInbox<{ n: number; marker?: string }>()
    inbox.push({ n: 1 })
    const taken = await takeUntilBarrier(inbox, () => {
      // Delivered later, in order: one more event, the marker, then an event sent after the marker.
      setImmediate(() => {
        inbox.push({ n: 2 })
        inbox.push({ n: 0, marker: 'm1' })
        inbox.push({ n: 3 })
      })
      return (event) => event.marker === 'm1'
    })
    expect(taken).toEqual([{ n: 1 }, { n: 2 }])
    expect(inbox.events).toEqual([{ n: 3 }])
    const next = await takeUntilBarrier(inbox, async () => {
      inbox.push({ n: 0, marker: 'm2' })
      return (event) => event.marker === 'm2'
    })
    expect(next).toEqual([{ n: 3 }])
    expect(inbox.events).toEqual([])
  })

  test('an empty result is an exact "nothing arrived before the marker"', async () => {
    const inbox = createInbox<string>()
    expect(await takeUntilBarrier(inbox, () => (inbox.push('marker'), (e) => e === 'marker'))).toEqual([])
  })

  test('a marker that never arrives fails with a message that says so', async () => {
    const inbox = createInbox<string>()
    inbox.push('something else')
    await expect(takeUntilBarrier(inbox, () => (e) => e === 'marker', { timeoutMs: 50 })).rejects.toThrow(
      /^the barrier did not arrive within 50 ms \(timed out after 50 ms; received 1 event\(s\), the last ones: \["something else"\]\)$/,
    )
  })
})

describe('expectNothingWithin', () => {
  test('resolves when nothing arrives in the window; what was there before does not count', async () => {
    const inbox = createInbox<number>()
    inbox.push(1)
    await expectNothingWithin(inbox, 30)
  })

  test('rejects, naming what arrived in the window', async () => {
    const inbox = createInbox<number>()
    setTimeout(() => inbox.push(42), 5)
    await expect(expectNothingWithin(inbox, 60)).rejects.toThrow('expected nothing within 60 ms, received 1: [42]')
  })
})
