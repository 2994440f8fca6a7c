import { sql, type LogEvent } from 'kysely'
import { describe, expect, test } from 'vitest'
import { UnitOfWork } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import { MessageRepository } from '../src/messages/message.repository.js'
import { allMessages, createChat, ok, postMessage, useRealtimeChat } from './support/realtime-app.js'
import { within } from './support/realtime-client.js'

/**
 * Events follow commit order even when the database answers the earlier COMMIT late. Posts to one
 * chat are serialized by its row lock, so the second post can take the lock, commit and get its
 * answer while the first COMMIT's answer is still on its way (its backend was descheduled, say).
 * Here the first answer is held back on purpose, through Kysely's (awaited) query log hook.
 */
describe.each(dialectsUnderTest())('commit order of events on %s', (kind) => {
  let holdNextCommit: { held: () => void; ms: number } | undefined
  const chat = useRealtimeChat(kind, {
    log: async (event: LogEvent) => {
      if (event.level !== 'query' || event.query.sql !== 'commit' || !holdNextCommit) return
      const { held, ms } = holdNextCommit
      holdNextCommit = undefined
      held()
      await new Promise((resolve) => setTimeout(resolve, ms))
    },
  })

  test('a message whose COMMIT is answered late still reaches members before the next message of its chat', async () => {
    const alice = await chat.participant('alice')
    const bob = await chat.participant('bob')
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync()])

    // The first post's COMMIT has run in the database (the lock is free) when its answer is held.
    const held = new Promise<void>((resolve) => (holdNextCommit = { held: resolve, ms: 300 }))
    const first = postMessage(chat.baseUrl, alice, room.id, 'first')
    await within(held, 5_000, "the first post's COMMIT")
    const second = await postMessage(chat.baseUrl, bob, room.id, 'second')
    const committed = [await first, second]

    expect(await allMessages(chat.baseUrl, alice, room.id)).toEqual(committed)
    for (const person of [alice, bob]) {
      expect(await person.sync()).toEqual(committed.map((message) => ({ type: 'message.created', data: message })))
    }
  })
  test('messages written within one millisecond get distinct, increasing timestamps, so a catch-up skips none', async () => {
    const alice = await chat.participant('alice')
    const room = await createChat(chat.baseUrl, alice, 'burst')
    // Faster than any client could post: PGlite's clock ticks in milliseconds, so these share some.
    const written = await UnitOfWork.run(chat.t.db, async (uow) => {
      const messages = new MessageRepository(uow)
      const rows = []
      for (let i = 0; i < 20; i++) rows.push(await messages.create({ chatId: room.id, senderId: alice.id, text: `burst ${i}` }))
      return rows
    })
    const stamps = await sql<{ id: string; at: string }>`
      select id, created_at::text as at from messages where chat_id = ${room.id} order by created_at, id`.execute(chat.t.db)
    expect(stamps.rows.map((row) => row.id)).toEqual(written.map((m) => m.id))
    expect(new Set(stamps.rows.map((row) => row.at)).size).toBe(20)
    for (let i = 0; i < written.length; i++) {
      const page = await ok(200, chat.baseUrl, 'GET', `/messages?chatId=${room.id}&after=${written[i]!.id}&limit=100`, { token: alice.token })
      expect(page.items.map((m: { text: string }) => m.text)).toEqual(written.slice(i + 1).map((m) => m.text))
    }
  })
})
