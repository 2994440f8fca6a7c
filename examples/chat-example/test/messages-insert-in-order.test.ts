// MessageRepository: the lock-free post (one statement that checks membership and inserts) and the
// order it lists a chat's messages in, (tx, created_at, id), with catch-up reading settled rows only.
import { sql } from 'kysely'
import { beforeAll, describe, expect, test, vi } from 'vitest'
import { NotFoundError, UnitOfWork } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import type { DatabaseKind } from 'fastkit'
import type { Message } from '../src/db/schema.js'
import { MessageRepository } from '../src/messages/message.repository.js'
import { untilSettled, useChatApp, type ChatJson, type TestUser } from './support/chat-app.js'

/**
 * A chat app of `kind` with three users, and the repository's calls as a post makes them. `insert`
 * commits a post and then waits until it has settled, as `POST /messages` does before answering
 * (settling waits for every older writing transaction on the server, other test files' included).
 */
function usePosting(kind: DatabaseKind) {
  const t = useChatApp(kind)
  const users = {} as { owner: TestUser; member: TestUser; outsider: TestUser }
  beforeAll(async () => {
    users.owner = await t.user('owner')
    users.member = await t.user('member')
    users.outsider = await t.user('outsider')
  })

  const insert = async (chatId: string, senderId: string, text: string, options: { beforeCommit?: () => Promise<void>; settle?: false } = {}) => {
    const posted = await UnitOfWork.run(t.db, async (uow) => {
      const message = await new MessageRepository(uow).create({ chatId, senderId, text })
      if (options.beforeCommit) uow.beforeCommit(options.beforeCommit)
      return message
    })
    if (options.settle !== false) await untilSettled(t.db, posted.tx)
    return posted
  }
  /** One page of `inChat`: newest first, or a catch-up with `after`. */
  const read = (chatId: string, page: { after?: string; cursor?: string; limit?: number } = {}) =>
    UnitOfWork.run(t.db, (uow) => new MessageRepository(uow).inChat(chatId, { limit: 100, ...page }))
  const texts = async (chatId: string, page: { after?: string } = {}) => (await read(chatId, page))!.items.map((m) => m.text)
  /** The chat's messages as the database orders them: (tx, created_at, id). */
  const stored = async (chatId: string) =>
    await t.db.selectFrom('messages').select(['id', 'text']).where('chatId', '=', chatId).orderBy('tx').orderBy('createdAt').orderBy('id').execute()
  return { t, users, insert, read, texts, stored }
}

describe.each(dialectsUnderTest())('MessageRepository: posting and the order of a chat on %s', (kind) => {
  const { t, users, insert, read, texts, stored } = usePosting(kind)

  test("a member's post: the message as stored, with its transaction's id as tx", async () => {
    const c: ChatJson = await t.chat(users.owner, [users.member])
    const posted = await insert(c.id, users.member.id, 'hello')
    expect(posted).toMatchObject({ chatId: c.id, senderId: users.member.id, text: 'hello', editedAt: null, tx: expect.stringMatching(/^[1-9]\d*$/) })
    expect(posted.createdAt).toBeInstanceOf(Date)
    expect(posted.updatedAt).toEqual(posted.createdAt)
    const row = await t.db.selectFrom('messages').selectAll().where('id', '=', posted.id).executeTakeFirstOrThrow()
    expect(row).toEqual(posted)

    // Two posts of one transaction share its id; a later transaction's is higher.
    const [a, b] = await UnitOfWork.run(t.db, async (uow) => {
      const messages = new MessageRepository(uow)
      return [await messages.create({ chatId: c.id, senderId: users.owner.id, text: 'a' }), await messages.create({ chatId: c.id, senderId: users.owner.id, text: 'b' })]
    })
    expect(a!.tx).toBe(b!.tx)
    expect(BigInt(a!.tx)).toBeGreaterThan(BigInt(posted.tx))
    await untilSettled(t.db, a!.tx)
    expect(await texts(c.id)).toEqual(['b', 'a', 'hello'])
  })

  test('a non-member, or a chat that does not exist: NotFoundError, and nothing is written', async () => {
    const c: ChatJson = await t.chat(users.owner, [users.member])
    await expect(insert(c.id, users.outsider.id, 'let me in')).rejects.toBeInstanceOf(NotFoundError)
    await expect(insert('00000000-0000-4000-8000-000000000000', users.owner.id, 'nowhere')).rejects.toBeInstanceOf(NotFoundError)
    const count = await t.db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('n')).where('chatId', '=', c.id).executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  test('racing posts committing out of order: a reader catching up meanwhile skips none and repeats none', async () => {
    const c: ChatJson = await t.chat(users.owner, [users.member])
    const anchor = await insert(c.id, users.owner.id, 'anchor')
    const POSTS = 24
    let writing = true
    // Each writer waits a different while before its COMMIT, so the posts commit out of their tx order.
    const written = Promise.all(
      [...Array(POSTS).keys()].map((i) => insert(c.id, i % 2 ? users.owner.id : users.member.id, `race ${i}`, { beforeCommit: () => new Promise((resolve) => setTimeout(resolve, i % 3)) })),
    ).finally(() => (writing = false))
    const seen: Message[] = []
    const readOnce = async () => seen.push(...(await read(c.id, { after: seen.at(-1)?.id ?? anchor.id }))!.items)
    while (writing) await readOnce()
    await written
    // Every post has committed; each settles once no older transaction (of any test) is running.
    await vi.waitFor(async () => {
      await readOnce()
      expect(seen.length).toBeGreaterThanOrEqual(POSTS)
    }, { timeout: 10_000 })

    const all = await stored(c.id)
    expect(seen.map((m) => m.id)).toEqual(all.slice(1).map((m) => m.id))
    expect(all[0]!.id).toBe(anchor.id)
  })

  test('messages stored before migration 0006 (tx 0) keep their created_at order and sort before every new one', async () => {
    const c: ChatJson = await t.chat(users.owner, [users.member])
    // Stamped an hour ahead: tx, not the time, puts them first.
    await sql`
      insert into messages (chat_id, sender_id, text, created_at, tx)
      select ${c.id}::uuid, ${users.owner.id}::uuid, 'old ' || g, now() + make_interval(hours => 1, secs => g), '0'
      from generate_series(1, 3) g`.execute(t.db)
    await insert(c.id, users.member.id, 'new')
    expect(await texts(c.id)).toEqual(['new', 'old 3', 'old 2', 'old 1'])
    const [first] = await stored(c.id)
    expect(first!.text).toBe('old 1')
    expect(await texts(c.id, { after: first!.id })).toEqual(['old 2', 'old 3', 'new'])
  })
})

if (dialectsUnderTest().includes('postgres')) {
  describe('MessageRepository beside other transactions (PostgreSQL: PGlite runs one at a time)', () => {
    const { t, users, insert, texts, read, stored } = usePosting('postgres')

    test(
      'an older writing transaction still open hides the later messages from both lists until it ends; then it sorts first',
      async () => {
        const c: ChatJson = await t.chat(users.owner, [users.member])
        const anchor = await insert(c.id, users.owner.id, 'anchor')

        // A post whose transaction stays open (on its own connection) until `end()`.
        let end!: () => void
        const ended = new Promise<void>((resolve) => (end = resolve))
        let wrote!: (message: Message) => void
        const written = new Promise<Message>((resolve) => (wrote = resolve))
        const slowCommit = UnitOfWork.run(t.db, async (uow) => {
          const message = await new MessageRepository(uow).create({ chatId: c.id, senderId: users.member.id, text: 'slow' })
          wrote(message)
          await ended
          return message
        })
        let late: Message
        try {
          const slow = await Promise.race([written, slowCommit])
          late = await insert(c.id, users.owner.id, 'late', { settle: false })
          expect(BigInt(late.tx)).toBeGreaterThan(BigInt(slow.tx))
          // `late` has committed, but `slow` may still commit before it in the order: catch-up waits.
          expect(await texts(c.id, { after: anchor.id })).toEqual([])
          // Anchored on the unsettled message itself: an empty page, not "no such message".
          expect(await read(c.id, { after: late.id })).toEqual({ items: [], nextCursor: null })
          // Newest first lists settled messages too: a client may anchor a catch-up on any it shows.
          expect(await texts(c.id)).toEqual(['anchor'])
        } finally {
          end()
        }
        await slowCommit

        // Committed after `late`, `slow` still sorts before it, and catch-up returns both.
        await vi.waitFor(async () => expect(await texts(c.id, { after: anchor.id })).toEqual(['slow', 'late']), { timeout: 10_000 })
        expect(await texts(c.id)).toEqual(['late', 'slow', 'anchor'])
        expect(await texts(c.id, { after: late.id })).toEqual([])
      },
    )

    test('a post racing the deletion of its chat waits for it and gets NotFoundError, not a foreign key error', async () => {
      const c: ChatJson = await t.chat(users.owner, [users.member])
      let end!: () => void
      const ended = new Promise<void>((resolve) => (end = resolve))
      let deleted!: () => void
      const deleting = new Promise<void>((resolve) => (deleted = resolve))
      const deletion = UnitOfWork.run(t.db, async (uow) => {
        await uow.db.deleteFrom('chats').where('id', '=', c.id).execute()
        deleted()
        await ended
      })
      let post: Promise<Message> | undefined
      try {
        await Promise.race([deleting, deletion])
        post = insert(c.id, users.member.id, 'too late')
        post.catch(() => {}) // awaited below
        // The post waits for the chat's row, locked by the deletion.
        await vi.waitFor(async () => {
          const waiting = await sql<{ n: number }>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into messages%'`.execute(t.db)
          expect(waiting.rows[0]!.n).toBe(1)
        }, { timeout: 10_000 })
      } finally {
        end()
      }
      await deletion
      await expect(post).rejects.toBeInstanceOf(NotFoundError)
      expect(await stored(c.id)).toEqual([])
    })
  })
}
