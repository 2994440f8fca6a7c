/**
 * What a test receives, in arrival order, with a bounded wait for what it expects: the frames of a
 * {@link WebSocketTestClient}, or the messages a test subscriber collects (see {@link createInbox}).
 */
export interface Inbox<T> {
  /** Everything received so far, in arrival order. Tests may remove what they have looked at. */
  readonly events: T[]
  /**
   * Resolves with {@link Inbox.events} once `predicate(events)` holds (checked now and on every
   * arrival); rejects after `timeoutMs` (default 5 000) with a message showing the last arrivals.
   */
  waitUntil(predicate: (events: T[]) => boolean, timeoutMs?: number): Promise<T[]>
}

/** An {@link Inbox} that a test fills itself, e.g. from an event bus subscription. */
export interface RecordingInbox<T> extends Inbox<T> {
  /** Records one arrival (bound: pass it as a callback as is). */
  readonly push: (item: T) => void
}

/**
 * Makes an {@link Inbox} that records what is pushed into it and wakes the tests waiting on it.
 *
 * @example
 * ```ts
 * const received = createInbox<EventMessage>()
 * app.events.subscribe(userTopic('alice'), received.push)
 * await app.inject({ method: 'POST', url: '/items', payload: { name: 'a' } })
 * const [message] = await received.waitUntil((events) => events.length === 1)
 * ```
 */
export function createInbox<T>(): RecordingInbox<T> {
  const events: T[] = []
  const waiters = new Set<() => void>()
  return {
    events,
    push(item: T) {
      events.push(item)
      for (const waiter of [...waiters]) waiter()
    },
    waitUntil(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(events)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(events)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out after ${timeoutMs} ms; received ${events.length} event(s), the last ones: ${JSON.stringify(events.slice(-5))}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
  }
}
