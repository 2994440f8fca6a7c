// Migration 0006 (message order by transaction) on a database that already holds messages: they keep
// the order they had, (created_at, id), in both list directions, and sort before every new message;
// its down restores 0005's schema.
import { CamelCasePlugin, Migrator, sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { migrateToLatest, UnitOfWork } from 'fastkit'
import { createTestDatabase, dialectsUnderTest, type TestDatabase } from 'fastkit/testing'
import * as users from '../migrations/0001_users.js'
import * as chats from '../migrations/0002_chats.js'
import * as messages from '../migrations/0003_messages.js'
import * as throttleEvents from '../migrations/0004_throttle_events.js'
import * as messageClocks from '../migrations/0005_chat_message_clocks.js'
import * as messageOrder from '../migrations/0006_message_order.js'
import type { DB } from '../src/db/schema.js'
import { MessageRepository } from '../src/messages/message.repository.js'
import { untilSettled } from './support/chat-app.js'

const before0006 = {
  '0001_users': users,
  '0002_chats': chats,
  '0003_messages': messages,
  '0004_throttle_events': throttleEvents,
  '0005_chat_message_clocks': messageClocks,
}
const all = { ...before0006, '0006_message_order': messageOrder }

describe.each(dialectsUnderTest())('migration 0006 over existing messages on %s', (kind) => {
  let t: TestDatabase<DB>
  let chatId: string
  let senderId: string
  /** The chat's messages before 0006, in the order the app listed them then: (created_at, id). */
  let oldOrder: string[]

  beforeAll(async () => {
    t = await createTestDatabase<DB>(kind, { database: { plugins: [new CamelCasePlugin()] } })
    await migrateToLatest(t.db, { migrations: before0006 })
    const { rows } = await sql<{ chatId: string; senderId: string }>`
      with u as (insert into users (username, password_hash) values ('olduser', 'x') returning id),
      c as (insert into chats (name, owner_id) select 'old chat', id from u returning id, owner_id),
      m as (insert into chat_members (chat_id, user_id, role) select id, owner_id, 'owner' from c)
      select c.id as chat_id, c.owner_id as sender_id from c`.execute(t.db)
    ;({ chatId, senderId } = rows[0]!)
    // Inserted newest first, two to a stamp (the id breaks those ties), as 0005 stamped them.
    await sql`
      insert into messages (chat_id, sender_id, text, created_at, updated_at)
      select ${chatId}::uuid, ${senderId}::uuid, 'old ' || g, at, at
      from (select g, timestamptz '2026-03-01 12:00:00+00' + make_interval(secs => (7 - g) / 2) as at from generate_series(1, 6) g) as stamped`.execute(t.db)
    await sql`insert into chat_message_clocks (chat_id, last_created_at) values (${chatId}, timestamptz '2026-03-01 12:00:03+00')`.execute(t.db)
    oldOrder = (await sql<{ id: string }>`select id from messages order by created_at, id`.execute(t.db)).rows.map((r) => r.id)
    await migrateToLatest(t.db, { migrations: all })
  })

  afterAll(async () => {
    await t?.destroy()
  })

  const repository = <T>(fn: (messages: MessageRepository) => Promise<T>) => UnitOfWork.run(t.db, (uow) => fn(new MessageRepository(uow)))
  /** Every message after `anchorId` that catch-up returns, following nextCursor, two to a page. */
  const catchUp = async (anchorId: string) => {
    const ids: string[] = []
    let cursor: string | undefined
    do {
      const page = await repository((m) => m.inChat(chatId, { after: anchorId, limit: 2, ...(cursor ? { cursor } : {}) }))
      ids.push(...page!.items.map((m) => m.id))
      cursor = page!.nextCursor ?? undefined
    } while (cursor)
    return ids
  }
  const newestFirst = async () => (await repository((m) => m.inChat(chatId, { limit: 100 })))!.items.map((m) => m.id)

  test('the messages keep their order in both directions, with tx 0, and the clock table is gone', async () => {
    const stored = await sql<{ tx: string }>`select tx::text as tx from messages`.execute(t.db)
    expect(stored.rows.map((r) => r.tx)).toEqual(Array(6).fill('0'))
    expect((await sql<{ t: string | null }>`select to_regclass('chat_message_clocks')::text as t`.execute(t.db)).rows[0]!.t).toBeNull()
    expect(await newestFirst()).toEqual([...oldOrder].reverse())
    expect(await catchUp(oldOrder[0]!)).toEqual(oldOrder.slice(1))
  })

  test('a message posted after the migration sorts after all of them, in both directions', async () => {
    const posted = await repository((m) => m.create({ chatId, senderId, text: 'new' }))
    expect(BigInt(posted.tx)).toBeGreaterThan(0n)
    // Lists show it once it settled (no older transaction, of any test on this server, still running).
    await untilSettled(t.db, posted.tx)
    expect(await newestFirst()).toEqual([posted.id, ...[...oldOrder].reverse()])
    expect(await catchUp(oldOrder[0]!)).toEqual([...oldOrder.slice(1), posted.id])
    expect(await catchUp(oldOrder.at(-1)!)).toEqual([posted.id])
  })

  test("down restores 0005: the clock at each chat's latest created_at, the (chat_id, created_at, id) index, no tx", async () => {
    const migrator = new Migrator({ db: t.db as Kysely<any>, provider: { getMigrations: async () => all } })
    const { error, results } = await migrator.migrateDown()
    expect(error).toBeUndefined()
    expect(results).toEqual([{ migrationName: '0006_message_order', direction: 'Down', status: 'Success' }])

    const clocks = await sql<{ matches: boolean }>`
      select c.last_created_at = (select max(created_at) from messages m where m.chat_id = c.chat_id) as matches
      from chat_message_clocks c where c.chat_id = ${chatId}`.execute(t.db)
    expect(clocks.rows).toEqual([{ matches: true }])
    const indexes = await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'messages' order by 1`.execute(t.db)
    expect(indexes.rows.map((r) => r.name)).toEqual(['messages_chat_created', 'messages_pkey'])
    const columns = await sql<{ name: string }>`select column_name as name from information_schema.columns where table_name = 'messages'`.execute(t.db)
    expect(columns.rows.map((r) => r.name)).not.toContain('tx')

    // And up again, from there.
    await migrateToLatest(t.db, { migrations: all })
    expect(await newestFirst()).toHaveLength(7)
  })
})
