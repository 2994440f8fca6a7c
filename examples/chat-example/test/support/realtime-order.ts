import { expect } from 'vitest'
import type { ReceivedEvent } from './realtime-client.js'

/**
 * Asserts that `events` (one connection's frames) are exactly one `message.created` per committed
 * message, carrying the message as `GET /messages` shows it, and that within each chat they arrived
 * in commit order: `committed` holds each chat's messages oldest first (`created_at` is taken after
 * the chat's row lock, so it orders a chat's messages as they committed).
 *
 * With `originOf` (message id → the server process it was posted through) the order is asserted
 * among the messages of each origin only, and the function returns how many pairs of messages from
 * different origins arrived in the reverse of their commit order (the Redis run of
 * realtime-processes.test.ts; with LISTEN/NOTIFY the full order holds across processes).
 */
export function expectDeliveredInCommitOrder(
  events: readonly ReceivedEvent[],
  committed: readonly (readonly any[])[],
  originOf?: (messageId: string) => string,
): number {
  const all = committed.flat()
  expect(events.map((e) => e.type)).toEqual(all.map(() => 'message.created'))
  const ids = events.map((e) => e.data.id as string)
  expect(new Set(ids).size, 'no event is delivered twice').toBe(ids.length)
  expect([...ids].sort()).toEqual(all.map((m) => m.id as string).sort())
  let crossOriginInversions = 0
  for (const messages of committed) {
    const chatId = messages[0]?.chatId
    const inChat = events.filter((e) => e.data.chatId === chatId).map((e) => e.data)
    expect([...inChat].sort(byId), 'data = the message').toEqual([...messages].sort(byId))
    if (!originOf) {
      expect(inChat.map((m) => m.id), `order in chat ${chatId}`).toEqual(messages.map((m) => m.id))
      continue
    }
    for (const origin of new Set(messages.map((m) => originOf(m.id)))) {
      const fromOrigin = (list: readonly any[]) => list.filter((m) => originOf(m.id) === origin).map((m) => m.id)
      expect(fromOrigin(inChat), `order in chat ${chatId} of the messages posted through ${origin}`).toEqual(fromOrigin(messages))
    }
    const rank = new Map(messages.map((m, index) => [m.id as string, index]))
    for (let i = 1; i < inChat.length; i++) if (rank.get(inChat[i - 1].id)! > rank.get(inChat[i].id)!) crossOriginInversions++
  }
  return crossOriginInversions
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

