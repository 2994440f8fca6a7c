// Catch-up (API.md, Messages): GET /messages?chatId=…&after=<id> pages oldest first with nextCursor,
// and following it yields every message after the anchor exactly once.
import { beforeAll, describe, expect, test } from 'vitest'
import { sql } from 'kysely'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, useChatApp, type ChatJson, type MessageJson, type Page, type TestUser } from './support/chat-app.js'

const LIMIT = 10

describe.each(dialectsUnderTest())('catch-up with after= on %s', (kind) => {
  const t = useChatApp(kind)
  let owner: TestUser
  let member: TestUser

  beforeAll(async () => {
    owner = await t.user('owner')
    member = await t.user('member')
  })

  const as = (user: TestUser, url: string) => t.inject({ method: 'GET', url, headers: user.headers })
  /** The chat's messages after `anchorId` in the chat's order: (tx, created_at, id). */
  const storedAfter = async (chatId: string, anchorId: string) => {
    const all = await t.db.selectFrom('messages').select(['id', 'text']).where('chatId', '=', chatId).orderBy('tx').orderBy('createdAt').orderBy('id').execute()
    return all.slice(all.findIndex((m) => m.id === anchorId) + 1)
  }
  /** Follows nextCursor from the first catch-up page to the last; returns the items and page sizes. */
  const catchUp = async (chatId: string, anchorId: string, between?: () => Promise<unknown>) => {
    const items: MessageJson[] = []
    const sizes: number[] = []
    let cursor: string | null = null
    do {
      const url: string = `/messages?chatId=${chatId}&after=${anchorId}&limit=${LIMIT}${cursor ? `&cursor=${cursor}` : ''}`
      const [page]: [Page<MessageJson>, unknown] = await Promise.all([t.page<MessageJson>(member, url), between?.()])
      items.push(...page.items)
      sizes.push(page.items.length)
      cursor = page.nextCursor
    } while (cursor)
    return { items, sizes }
  }

  test('three pages of messages after the anchor: nextCursor while more follow, each message once, oldest first', async () => {
    const c: ChatJson = await t.chat(owner, [member])
    // 35 messages, three to a timestamp, so the id tie-breaker decides inside a group too.
    await sql`
      insert into messages (chat_id, sender_id, text, created_at)
      select ${c.id}::uuid, ${owner.id}::uuid, 'm' || g, timestamptz '2026-03-01 12:00:00+00' + make_interval(secs => (g / 3) * 0.000001)
      from generate_series(1, 35) g`.execute(t.db)
    const stored = await t.db.selectFrom('messages').select(['id']).where('chatId', '=', c.id).orderBy('tx').orderBy('createdAt').orderBy('id').execute()
    const anchor = stored[4]!.id // 30 = three pages after it

    const { items, sizes } = await catchUp(c.id, anchor)
    expect(sizes).toEqual([LIMIT, LIMIT, LIMIT])
    expect(items.map((m) => m.id)).toEqual((await storedAfter(c.id, anchor)).map((m) => m.id))
    expect(items.map((m) => m.id)).toEqual(stored.slice(5).map((m) => m.id))

    // One more message: the third page now says more follow, and the fourth holds it.
    const late = await t.message(owner, c.id, 'late')
    const again = await catchUp(c.id, anchor)
    expect(again.sizes).toEqual([LIMIT, LIMIT, LIMIT, 1])
    expect(again.items.at(-1)!.id).toBe(late.id)
  })

  test('posts arriving while the client pages: the pages still hold every message after the anchor exactly once, in order', async () => {
    const c: ChatJson = await t.chat(owner, [member])
    const anchor = await t.message(owner, c.id, 'anchor')
    for (let i = 0; i < 2 * LIMIT + 3; i++) await t.message(i % 2 ? owner : member, c.id, `before-${i}`)

    // Two posts race each of the first page requests (they commit before, during or after its read).
    let n = 0
    const postTwo = () => Promise.all([t.message(owner, c.id, `during-${n++}`), t.message(member, c.id, `during-${n++}`)])
    let pagesRead = 0
    const { items } = await catchUp(c.id, anchor.id, async () => {
      if (pagesRead++ < 4) await postTwo()
    })
    // Whatever committed after the last page is the next catch-up's, from the last message seen.
    const rest = await catchUp(c.id, items.at(-1)!.id)
    const seen = [...items, ...rest.items]

    const ids = seen.map((m) => m.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(seen.map((m) => m.text)).toEqual((await storedAfter(c.id, anchor.id)).map((m) => m.text))
    expect(n).toBeGreaterThanOrEqual(6)
    expect(seen.filter((m) => m.text.startsWith('during-'))).toHaveLength(n)
  })

  test('many posters racing one chat while a member keeps catching up: it sees every committed message once, in order, none skipped', async () => {
    const posters = [owner, member, await t.user('third'), await t.user('fourth')]
    const c: ChatJson = await t.chat(owner, posters.slice(1))
    const anchor = await t.message(owner, c.id, 'anchor')
    const PER_POSTER = 8

    // The reader catches up from the last message it has seen, as a client does after each reconnect,
    // once after every post (one read at a time), while the other posters' posts are in flight. A
    // message committing after a later-stamped one would be skipped.
    const seen: MessageJson[] = []
    let reading: Promise<void> = Promise.resolve()
    const readOnce = () =>
      (reading = reading.then(async () => {
        const { items } = await catchUp(c.id, seen.at(-1)?.id ?? anchor.id)
        seen.push(...items)
      }))
    // Every poster posts in a loop; all run at once, so their transactions race for the chat's lock.
    await Promise.all(
      posters.map(async (poster, p) => {
        for (let i = 0; i < PER_POSTER; i++) {
          await t.message(poster, c.id, `p${p}-${i}`)
          void readOnce()
        }
      }),
    )
    await readOnce()

    const ids = seen.map((m) => m.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toEqual((await storedAfter(c.id, anchor.id)).map((m) => m.id))
    expect(seen).toHaveLength(posters.length * PER_POSTER)
    // Each poster's own messages appear in the order it posted them.
    for (const p of posters.keys()) {
      expect(seen.filter((m) => m.text.startsWith(`p${p}-`)).map((m) => m.text)).toEqual([...Array(PER_POSTER).keys()].map((i) => `p${p}-${i}`))
    }
  })

  test('the cursor carries the position: the anchor may be deleted meanwhile; a foreign or altered cursor is a 400', async () => {
    const c: ChatJson = await t.chat(owner, [member])
    const anchor = await t.message(owner, c.id, 'anchor')
    for (let i = 0; i < LIMIT + 2; i++) await t.message(owner, c.id, `m${i}`)
    const first = await t.page<MessageJson>(member, `/messages?chatId=${c.id}&after=${anchor.id}&limit=${LIMIT}`)
    expect(first.nextCursor).toEqual(expect.any(String))
    expect((await t.inject({ method: 'DELETE', url: `/messages/${anchor.id}`, headers: owner.headers })).statusCode).toBe(204)
    const second = await t.page<MessageJson>(member, `/messages?chatId=${c.id}&after=${anchor.id}&limit=${LIMIT}&cursor=${first.nextCursor}`)
    expect(second.items.map((m) => m.text)).toEqual([`m${LIMIT}`, `m${LIMIT + 1}`])
    expect(second.nextCursor).toBeNull()

    const newestFirst = await t.page<MessageJson>(member, `/messages?chatId=${c.id}&limit=2`)
    expectProblem(await as(member, `/messages?chatId=${c.id}&after=${first.items[0]!.id}&cursor=${newestFirst.nextCursor}`), 400, 'BAD_REQUEST')
    expectProblem(await as(member, `/messages?chatId=${c.id}&cursor=${first.nextCursor}`), 400, 'BAD_REQUEST')
    expectProblem(await as(member, `/messages?chatId=${c.id}&after=${first.items[0]!.id}&cursor=${first.nextCursor}x`), 400, 'BAD_REQUEST')
  })
})
