import type { LogEvent } from 'kysely'
import { describe, expect, test } from 'vitest'
import { UnitOfWork } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import { MessageRepository } from '../src/messages/message.repository.js'
import { allMessages, createChat, ok, postMessage, useRealtimeChat } from './support/realtime-app.js'
import { within } from './support/realtime-client.js'
import { untilSettled } from './support/chat-app.js'

/**
 * Events follow the chat's order even when the database answers the earlier post late: the second
 * post can commit and get its answer while the first one's answer is still on its way (its backend
 * was descheduled, say). A post is one autocommitted INSERT (`singleWrite`), so here the first
 * INSERT's answer is held back on purpose, through Kysely's (awaited) query log hook, after the
 * statement committed. Then, catch-up returns a burst of messages that share a transaction and stamps.
 */
describe.each(dialectsUnderTest())('commit order of events on %s', (kind) => {
  let holdNextInsert: { held: () => void; ms: number } | undefined
  const chat = useRealtimeChat(kind, {
    log: async (event: LogEvent) => {
      if (event.level !== 'query' || !/^\s*insert into messages/.test(event.query.sql) || !holdNextInsert) return
      const { held, ms } = holdNextInsert
      holdNextInsert = undefined
      held()
      await new Promise((resolve) => setTimeout(resolve, ms))
    },
  })

  test('a post whose commit is answered late still reaches members before the next message of its chat', async () => {
    const alice = await chat.participant('alice')
    const bob = await chat.participant('bob')
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync()])

    // The first post's INSERT has run (and committed) in the database when its answer is held.
    const held = new Promise<void>((resolve) => (holdNextInsert = { held: resolve, ms: 300 }))
    const first = postMessage(chat.baseUrl, alice, room.id, 'first')
    await within(held, 5_000, "the first post's INSERT")
    const second = await postMessage(chat.baseUrl, bob, room.id, 'second')
    const committed = [await first, second]

    expect(await allMessages(chat.baseUrl, alice, room.id)).toEqual(committed)
    for (const person of [alice, bob]) {
      expect(await person.sync()).toEqual(committed.map((message) => ({ type: 'message.created', data: message })))
    }
  })
  test("messages written within one millisecond are all returned by catch-up, once each, in the list's order", async () => {
    const alice = await chat.participant('alice')
    const room = await createChat(chat.baseUrl, alice, 'burst')
    const anchor = await postMessage(chat.baseUrl, alice, room.id, 'anchor')
    // Faster than any client could post: PGlite's clock ticks in milliseconds, so these share some
    // stamps (and all share one transaction): the ids order those.
    const written = await UnitOfWork.run(chat.t.db, async (uow) => {
      const messages = new MessageRepository(uow)
      const rows = []
      for (let i = 0; i < 20; i++) rows.push(await messages.create({ chatId: room.id, senderId: alice.id, text: `burst ${i}` }))
      return rows
    })
    /** Every message after `anchorId` that catch-up returns, following nextCursor, three to a page. */
    const catchUp = async (anchorId: string) => {
      const ids: string[] = []
      let cursor: string | null = null
      do {
        const query: string = `/messages?chatId=${room.id}&after=${anchorId}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
        const page: { items: { id: string }[]; nextCursor: string | null } = await ok(200, chat.baseUrl, 'GET', query, { token: alice.token })
        ids.push(...page.items.map((m) => m.id))
        cursor = page.nextCursor
      } while (cursor)
      return ids
    }

    // Lists show them once settled (no older transaction, of any test on this server, still running).
    await untilSettled(chat.t.db, written[0]!.tx)
    const listed = (await allMessages(chat.baseUrl, alice, room.id)).map((m: { id: string }) => m.id)
    expect(listed[0]).toBe(anchor.id)
    expect([...listed.slice(1)].sort()).toEqual(written.map((m) => m.id).sort())
    expect(await catchUp(anchor.id)).toEqual(listed.slice(1))
    for (let i = 1; i < listed.length; i++) expect(await catchUp(listed[i]!)).toEqual(listed.slice(i + 1))
  })
})
