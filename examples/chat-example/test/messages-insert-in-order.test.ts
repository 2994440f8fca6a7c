// MessageRepository.create: one statement that checks membership, takes the chat's lock and stamps the
// message after every earlier one of its chat.
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { NotFoundError, UnitOfWork } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import type { Message } from '../src/db/schema.js'
import { MessageRepository } from '../src/messages/message.repository.js'
import { useChatApp, type ChatJson, type TestUser } from './support/chat-app.js'

describe.each(dialectsUnderTest())('MessageRepository.create (the ordered insert) on %s', (kind) => {
  const t = useChatApp(kind)
  let owner: TestUser
  let member: TestUser
  let outsider: TestUser

  beforeAll(async () => {
    owner = await t.user('owner')
    member = await t.user('member')
    outsider = await t.user('outsider')
  })

  const insert = (chatId: string, senderId: string, text: string, beforeCommit?: () => Promise<void>) =>
    UnitOfWork.run(t.db, async (uow) => {
      const posted = await new MessageRepository(uow).create({ chatId, senderId, text })
      if (beforeCommit) uow.beforeCommit(beforeCommit)
      return posted
    })

  test("a member's post: the message as stored", async () => {
    const c: ChatJson = await t.chat(owner, [member])
    const posted = await insert(c.id, member.id, 'hello')
    expect(posted).toMatchObject({ chatId: c.id, senderId: member.id, text: 'hello', editedAt: null })
    expect(posted.createdAt).toBeInstanceOf(Date)
    expect(posted.updatedAt).toEqual(posted.createdAt)
    const stored = await t.db.selectFrom('messages').selectAll().where('id', '=', posted.id).executeTakeFirstOrThrow()
    expect(stored).toEqual(posted)
  })

  test('a non-member, or a chat that does not exist: NotFoundError, and nothing is written', async () => {
    const c: ChatJson = await t.chat(owner, [member])
    await expect(insert(c.id, outsider.id, 'let me in')).rejects.toBeInstanceOf(NotFoundError)
    await expect(insert('00000000-0000-4000-8000-000000000000', owner.id, 'nowhere')).rejects.toBeInstanceOf(NotFoundError)
    const count = await t.db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('n')).where('chatId', '=', c.id).executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  test('racing posts get distinct stamps in commit order: a reader catching up meanwhile skips none', async () => {
    const c: ChatJson = await t.chat(owner, [member])
    const anchor = await insert(c.id, owner.id, 'anchor')
    const POSTS = 24
    let writing = true
    // Each writer holds the lock a little while before its COMMIT, so the others queue behind it.
    const written = Promise.all(
      [...Array(POSTS).keys()].map((i) => insert(c.id, i % 2 ? owner.id : member.id, `race ${i}`, () => new Promise((resolve) => setTimeout(resolve, i % 3)))),
    ).finally(() => (writing = false))
    const seen: Message[] = []
    const readOnce = async () => {
      const page = await UnitOfWork.run(t.db, (uow) => new MessageRepository(uow).inChat(c.id, { after: seen.at(-1)?.id ?? anchor.id, limit: 100 }))
      seen.push(...page!.items)
    }
    while (writing) await readOnce()
    await written
    await readOnce()

    const stored = await sql<{ id: string; at: string }>`
      select id, created_at::text as at from messages where chat_id = ${c.id} and id <> ${anchor.id} order by created_at, id`.execute(t.db)
    expect(new Set(stored.rows.map((row) => row.at)).size).toBe(POSTS)
    expect(seen.map((m) => m.id)).toEqual(stored.rows.map((row) => row.id))
  })

  test("when the chat's latest message is stamped ahead of the clock (a clock step back), the next is stamped after it", async () => {
    const c: ChatJson = await t.chat(owner, [member])
    const future = new Date(Date.now() + 60_000)
    const first = await insert(c.id, owner.id, 'first')
    await sql`update messages set created_at = ${future} where id = ${first.id}`.execute(t.db)
    await sql`update chat_message_clocks set last_created_at = ${future} where chat_id = ${c.id}`.execute(t.db)
    const next = await insert(c.id, member.id, 'next')
    // One microsecond later: a JavaScript Date holds milliseconds, so ask the database.
    const order = await sql<{ id: string; later: boolean }>`
      select id, created_at > ${future}::timestamptz as later from messages where chat_id = ${c.id} order by created_at, id`.execute(t.db)
    expect(order.rows).toEqual([{ id: first.id, later: false }, { id: next.id, later: true }])
  })
})
