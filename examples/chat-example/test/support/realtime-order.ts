import { expect } from 'vitest'
import type { ReceivedEvent } from './realtime-client.js'

/**
 * Asserts that `events` (one connection's frames) are exactly one `message.created` per committed
 * message, carrying the message as `GET /messages` shows it, and that within each chat they arrived
 * in the chat's order: `committed` holds each chat's messages oldest first, as the list orders them
 * (`(tx, createdAt, id)`, the order the message feed reads them in).
 */
export function expectDeliveredInChatOrder(events: readonly ReceivedEvent[], committed: readonly (readonly any[])[]): void {
  const all = committed.flat()
  expect(events.map((e) => e.type)).toEqual(all.map(() => 'message.created'))
  const ids = events.map((e) => e.data.id as string)
  expect(new Set(ids).size, 'no event is delivered twice').toBe(ids.length)
  expect([...ids].sort()).toEqual(all.map((m) => m.id as string).sort())
  for (const messages of committed) {
    const chatId = messages[0]?.chatId
    const inChat = events.filter((e) => e.data.chatId === chatId).map((e) => e.data)
    expect([...inChat].sort(byId), 'data = the message').toEqual([...messages].sort(byId))
    expect(inChat.map((m) => m.id), `order in chat ${chatId}`).toEqual(messages.map((m) => m.id))
  }
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

