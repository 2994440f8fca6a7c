import { randomUUID } from 'node:crypto'
import type { EventBus, EventMessage } from '../../src/extend.js'
import { createInbox, takeUntilBarrier, type RecordingInbox } from '../../src/testing/index.js'

/** What `bus` delivers on `topics`, as an inbox; `off()` unsubscribes. */
export function busInbox(bus: EventBus, topics: string | string[] = 't'): RecordingInbox<EventMessage> & { off(): void } {
  const inbox = createInbox<EventMessage>()
  return { ...inbox, off: bus.subscribe(topics, inbox.push) }
}

/**
 * Publishes one `barrier` message through `from` on `topic`, and returns what each inbox received
 * before it (see `takeUntilBarrier`; the barrier is taken out too). Exact wherever the messages under
 * test travel the same road in order: one bus's messages reach each subscriber in publish order, and
 * a transport delivers what several publishers sent in the order its server received it.
 */
export async function sendBusBarrier(from: EventBus, topic = 't'): Promise<(inbox: RecordingInbox<EventMessage>) => Promise<EventMessage[]>> {
  const id = randomUUID()
  await from.publish({ topics: [topic], type: 'barrier', data: id })
  const isBarrier = (message: EventMessage) => message.type === 'barrier' && message.data === id
  return (inbox) => takeUntilBarrier(inbox, () => isBarrier)
}
