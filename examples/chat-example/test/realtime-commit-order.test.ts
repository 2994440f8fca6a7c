import { sql, type LogEvent } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { UnitOfWork } from 'fastkit'
import { dialectsUnderTest, type TestDatabase } from 'fastkit/testing'
import type { DB } from '../src/db/schema.js'
import { MessageRepository } from '../src/messages/message.repository.js'
import {
  allMessages,
  createChat,
  createChatDatabase,
  ok,
  participant,
  postMessage,
  startChatApp,
  type Participant,
  type RunningChat,
} from './support/realtime-app.js'
import { within } from './support/realtime-client.js'

/**
 * Events follow commit order even when the database answers the earlier COMMIT late. Posts to one
 * chat are serialized by its row lock, so the second post can take the lock, commit and get its
 * answer while the first COMMIT's answer is still on its way (its backend was descheduled, say).
 * Here the first answer is held back on purpose, through Kysely's (awaited) query log hook.
 */
describe.each(dialectsUnderTest())('commit order of events on %s', (kind) => {
  let t: TestDatabase<DB>
  let chat: RunningChat
  let base: string
  const people: Participant[] = []
  let holdNextCommit: { held: () => void; ms: number } | undefined

  beforeAll(async () => {
    t = await createChatDatabase(kind, {
      log: async (event: LogEvent) => {
        if (event.level !== 'query' || event.query.sql !== 'commit' || !holdNextCommit) return
        const { held, ms } = holdNextCommit
        holdNextCommit = undefined
        held()
        await new Promise((resolve) => setTimeout(resolve, ms))
      },
    })
    chat = await startChatApp(t)
    base = chat.baseUrl
  })

  afterAll(async () => {
    for (const person of people) await person.client.close()
    await chat?.close()
    await t?.destroy()
  })

  test('a message whose COMMIT is answered late still reaches members before the next message of its chat', async () => {
    const alice = await participant(base, 'alice')
    const bob = await participant(base, 'bob')
    people.push(alice, bob)
    const room = await createChat(base, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync()])

    // The first post's COMMIT has run in the database (the lock is free) when its answer is held.
    const held = new Promise<void>((resolve) => (holdNextCommit = { held: resolve, ms: 300 }))
    const first = postMessage(base, alice, room.id, 'first')
    await within(held, 5_000, "the first post's COMMIT")
    const second = await postMessage(base, bob, room.id, 'second')
    const committed = [await first, second]

    expect(await allMessages(base, alice, room.id)).toEqual(committed)
    for (const person of [alice, bob]) {
      expect(await person.sync()).toEqual(committed.map((message) => ({ type: 'message.created', data: message })))
    }
  })
  test('messages written within one millisecond get distinct, increasing timestamps, so a catch-up skips none', async () => {
    const alice = await participant(base, 'alice')
    people.push(alice)
    const room = await createChat(base, alice, 'burst')
    // Faster than any client could post: PGlite's clock ticks in milliseconds, so these share some.
    const written = await UnitOfWork.run(t.db, async (uow) => {
      const messages = new MessageRepository(uow)
      const rows = []
      for (let i = 0; i < 20; i++) rows.push(await messages.create({ chatId: room.id, senderId: alice.id, text: `burst ${i}` }))
      return rows
    })
    const stamps = await sql<{ id: string; at: string }>`
      select id, created_at::text as at from messages where chat_id = ${room.id} order by created_at, id`.execute(t.db)
    expect(stamps.rows.map((row) => row.id)).toEqual(written.map((m) => m.id))
    expect(new Set(stamps.rows.map((row) => row.at)).size).toBe(20)
    for (let i = 0; i < written.length; i++) {
      const page = await ok(200, base, 'GET', `/messages?chatId=${room.id}&after=${written[i]!.id}&limit=100`, { token: alice.token })
      expect(page.items.map((m: { text: string }) => m.text)).toEqual(written.slice(i + 1).map((m) => m.text))
    }
  })
})
