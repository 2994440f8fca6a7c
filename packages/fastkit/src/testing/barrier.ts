import type { Inbox } from './inbox.js'

/** Options of {@link takeUntilBarrier}. */
export interface BarrierOptions {
  /** How long the barrier may take to arrive. Default 5 000 ms. */
  readonly timeoutMs?: number
}

/**
 * Makes "received nothing (more)" an exact assertion instead of a sleep. `sendBarrier` sends one
 * marker down the same ordered road as the events under test (the same connection, from the same
 * publisher) and returns how to recognise it; once the marker has arrived, everything sent before it
 * has arrived too. Resolves with what arrived before the marker, and removes it and the marker from
 * `inbox.events` (what arrived after the marker stays for the next call).
 *
 * Only as exact as the ordering it relies on: one WebSocket connection receives the events of one
 * publisher in publish order, and a transport delivers one bus's messages in order.
 *
 * @example
 * ```ts
 * declare const baseUrl: string, bobToken: string
 * const bob = await connectWebSocket(baseUrl, { token: bobToken })
 * await app.inject({ method: 'POST', url: '/items', payload: { name: 'for alice only', topics: [userTopic('alice')] } })
 * const received = await takeUntilBarrier(bob, async () => {
 *   const marker = await app.inject({ method: 'POST', url: '/items', payload: { name: 'barrier', topics: [userTopic('bob')] } })
 *   return (event) => event.data?.id === marker.json().id
 * })
 * expect(received).toEqual([]) // bob got nothing before his own marker
 * ```
 */
export async function takeUntilBarrier<T>(
  inbox: Inbox<T>,
  sendBarrier: () => ((item: T) => boolean) | Promise<(item: T) => boolean>,
  options: BarrierOptions = {},
): Promise<T[]> {
  const timeoutMs = options.timeoutMs ?? 5_000
  const isBarrier = await sendBarrier()
  try {
    await inbox.waitUntil((events) => events.some(isBarrier), timeoutMs)
  } catch (error) {
    throw new Error(`the barrier did not arrive within ${timeoutMs} ms (${(error as Error).message})`)
  }
  const taken = inbox.events.splice(0, inbox.events.findIndex(isBarrier) + 1)
  return taken.slice(0, -1)
}

/**
 * Waits `ms` and rejects if anything arrived in `inbox` meanwhile. For absences no barrier can prove
 * (the receiver is closed, or nothing else travels its road), and only there: prefer
 * {@link takeUntilBarrier}, which does not depend on how long "long enough" is on a busy machine.
 *
 * @example
 * ```ts
 * declare const bus: EventBus, other: EventBus
 * const received = createInbox<EventMessage>()
 * bus.subscribe('t', received.push)
 * await bus.close()
 * await other.publish({ topics: ['t'], type: 'late', data: null })
 * await expectNothingWithin(received, 200) // a closed bus has no road left for a barrier
 * ```
 */
export async function expectNothingWithin<T>(inbox: Inbox<T>, ms: number): Promise<void> {
  const before = inbox.events.length
  await new Promise((resolve) => setTimeout(resolve, ms))
  const arrived = inbox.events.slice(before)
  if (arrived.length > 0) throw new Error(`expected nothing within ${ms} ms, received ${arrived.length}: ${JSON.stringify(arrived.slice(0, 5))}`)
}
