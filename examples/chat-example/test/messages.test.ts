import { beforeAll, describe, expect, test } from 'vitest'
import { CompiledQuery, sql, type Kysely } from 'kysely'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, MISSING_ID, useChatApp, type ChatJson, type MessageJson, type Page, type TestUser } from './support/chat-app.js'

/**
 * Newest first: the list's order, (tx, createdAt, id) descending, checked against the database. The
 * stamps are compared as stored, in microseconds: the JSON's milliseconds cannot order two posts of one
 * millisecond. Concurrent posts may commit in either order, so `createdAt` alone need not descend.
 */
async function expectNewestFirst(db: Kysely<any>, items: MessageJson[]): Promise<void> {
  const rows = await sql<{ id: string; tx: string; us: string }>`
    select id, tx::text as tx, (extract(epoch from created_at) * 1000000)::bigint::text as us from messages where id = any(${items.map((m) => m.id)}::uuid[])`.execute(db)
  const keys = new Map(rows.rows.map((row) => [row.id, [BigInt(row.tx), BigInt(row.us)] as const]))
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1]!, items[i]!]
    const [[ta, sa], [tb, sb]] = [keys.get(a.id)!, keys.get(b.id)!]
    const order = ta !== tb ? (ta > tb ? 1 : -1) : sa !== sb ? (sa > sb ? 1 : -1) : a.id > b.id ? 1 : -1
    expect(order, `${a.id} should come before ${b.id}`).toBeGreaterThan(0)
  }
}

describe.each(dialectsUnderTest())('/messages over HTTP on %s', (kind) => {
  const t = useChatApp(kind)
  let owner: TestUser
  let member: TestUser
  let outsider: TestUser
  let chat: ChatJson

  beforeAll(async () => {
    owner = await t.user('owner')
    member = await t.user('member')
    outsider = await t.user('outsider')
    chat = await t.chat(owner, [member])
  })

  const as = (user: TestUser, method: string, url: string, payload?: object) =>
    t.inject({ method: method as 'GET', url, headers: user.headers, ...(payload ? { payload } : {}) })
  const countIn = async (chatId: string) =>
    (await t.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('chatId', '=', chatId).executeTakeFirstOrThrow()).n

  test('POST /messages: 201 with the message, sent by the caller whatever the body says, text trimmed', async () => {
    const res = await as(member, 'POST', '/messages', { chatId: chat.id, text: '  hi there \n', senderId: owner.id, id: MISSING_ID })
    expect(res.statusCode).toBe(201)
    const msg = res.json()
    expect(Object.keys(msg).sort()).toEqual(['chatId', 'createdAt', 'editedAt', 'id', 'senderId', 'text', 'updatedAt'])
    expect(msg).toMatchObject({ chatId: chat.id, senderId: member.id, text: 'hi there', editedAt: null })
    expect(msg.id).not.toBe(MISSING_ID)
    expect(new Date(msg.createdAt).toISOString()).toBe(msg.createdAt)
    const row = await t.db.selectFrom('messages').selectAll().where('id', '=', msg.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ senderId: member.id, text: 'hi there' })
  })

  test('text is 1–4000 characters after trimming; anything else is a 400 and writes nothing', async () => {
    const before = await countIn(chat.id)
    const longest = await as(owner, 'POST', '/messages', { chatId: chat.id, text: `  ${'x'.repeat(4000)}  ` })
    expect(longest.statusCode).toBe(201)
    expect(longest.json().text).toHaveLength(4000)
    for (const text of ['x'.repeat(4001), '', '   \n\t ', 42, null, ['a']]) {
      const res = await as(owner, 'POST', '/messages', { chatId: chat.id, text })
      expect(expectProblem(res, 400, 'VALIDATION_FAILED').errors[0].path).toBe('body.text')
    }
    for (const body of [{ text: 'no chat' }, { chatId: 'not-a-uuid', text: 'x' }, { chatId: chat.id }]) {
      expectProblem(await as(owner, 'POST', '/messages', body), 400, 'VALIDATION_FAILED')
    }
    expect(await countIn(chat.id)).toBe(before + 1)
  })

  test('GET /messages needs chatId (400), is 404 for a chat the caller is not in, and lists newest first', async () => {
    const c = await t.chat(owner, [member])
    const posted: MessageJson[] = []
    for (let i = 0; i < 5; i++) posted.push(await t.message(i % 2 ? member : owner, c.id, `m${i}`))
    const missing = expectProblem(await as(owner, 'GET', '/messages'), 400, 'VALIDATION_FAILED')
    expect(missing.errors[0].path).toBe('querystring.chatId')
    expectProblem(await as(outsider, 'GET', `/messages?chatId=${c.id}`), 404, 'NOT_FOUND')

    const page: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}`)
    expect(page.items.map((m) => m.text)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0'])
    expect(page.items).toEqual([...posted].reverse())
    expect(page.nextCursor).toBeNull()

    const first: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}&limit=2`)
    const second: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}&limit=2&cursor=${first.nextCursor}`)
    const third: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}&limit=2&cursor=${second.nextCursor}`)
    expect([first, second, third].map((p) => p.items.map((m) => m.text))).toEqual([['m4', 'm3'], ['m2', 'm1'], ['m0']])
    expect(third.nextCursor).toBeNull()
    // Another list's cursor (here the users') is refused.
    expectProblem(await as(member, 'GET', `/messages?chatId=${c.id}&cursor=${(await t.page(owner, '/users?limit=1')).nextCursor}`), 400)
  })

  test('cursor pages stay exact while 30 messages are posted concurrently', async () => {
    const c = await t.chat(owner, [member])
    // 45 older messages, three to a timestamp, so the id tie-breaker is exercised too.
    await sql`
      insert into messages (chat_id, sender_id, text, created_at)
      select ${c.id}::uuid, ${owner.id}::uuid, 'old ' || g, now() - make_interval(secs => (g / 3)::int + 1)
      from generate_series(1, 45) g`.execute(t.db)
    const existing = (await t.db.selectFrom('messages').select('id').where('chatId', '=', c.id).execute()).map((r) => r.id)
    expect(existing).toHaveLength(45)

    // Three posts race each page request, and each page is read after the previous page's posts.
    const posts: ReturnType<typeof as>[] = []
    const post = (n: number) => {
      for (let k = 0; k < n && posts.length < 30; k++) {
        const i = posts.length
        posts.push(as(i % 2 ? owner : member, 'POST', '/messages', { chatId: c.id, text: `new ${i}` }))
      }
      return posts.slice(-n)
    }
    const seen: MessageJson[] = []
    let cursor: string | null = null
    do {
      const [page]: [Page<MessageJson>, ...unknown[]] = await Promise.all([
        t.page<MessageJson>(member, `/messages?chatId=${c.id}&limit=7${cursor ? `&cursor=${cursor}` : ''}`),
        ...post(3),
      ])
      seen.push(...page.items)
      cursor = page.nextCursor
    } while (cursor)
    expect(posts.length).toBeGreaterThanOrEqual(21)
    post(30)
    const posted = await Promise.all(posts)
    expect(posted.map((r) => r.statusCode)).toEqual(Array(30).fill(201))

    const ids = seen.map((m) => m.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toEqual(expect.arrayContaining(existing))
    await expectNewestFirst(t.db, seen)
    // Every message that appeared is a real one; the new ones can only be at the head.
    const all: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}&limit=100`)
    expect(all.items).toHaveLength(75)
    await expectNewestFirst(t.db, all.items)
    expect(all.items.slice(30).map((m) => m.id).sort()).toEqual([...existing].sort())
    const allIds = new Set(all.items.map((m) => m.id))
    for (const id of ids) expect(allIds.has(id)).toBe(true)
  })

  test('after=<id> returns the later messages oldest first; an id from elsewhere is 404', async () => {
    const c = await t.chat(owner, [member])
    const posted: MessageJson[] = []
    for (let i = 0; i < 6; i++) posted.push(await t.message(owner, c.id, `a${i}`))
    const page: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}&after=${posted[2]!.id}`)
    expect(page.items.map((m) => m.text)).toEqual(['a3', 'a4', 'a5'])
    expect(page.nextCursor).toBeNull()
    expect((await t.page<MessageJson>(member, `/messages?chatId=${c.id}&after=${posted[5]!.id}`)).items).toEqual([])
    expect((await t.page<MessageJson>(member, `/messages?chatId=${c.id}&after=${posted[0]!.id}&limit=2`)).items.map((m) => m.text)).toEqual(['a1', 'a2'])

    const elsewhere = await t.message(owner, chat.id)
    expectProblem(await as(member, 'GET', `/messages?chatId=${c.id}&after=${elsewhere.id}`), 404, 'NOT_FOUND')
    expectProblem(await as(member, 'GET', `/messages?chatId=${c.id}&after=${MISSING_ID}`), 404, 'NOT_FOUND')
    expectProblem(await as(outsider, 'GET', `/messages?chatId=${c.id}&after=${posted[0]!.id}`), 404, 'NOT_FOUND')
    expectProblem(await as(member, 'GET', `/messages?chatId=${c.id}&after=nope`), 400, 'VALIDATION_FAILED')
  })

  test('GET /messages/:id: 200 for members of its chat, 404 for others and for unknown ids, 400 for bad ids', async () => {
    const msg = await t.message(member, chat.id)
    for (const user of [owner, member]) expect((await as(user, 'GET', `/messages/${msg.id}`)).json()).toEqual(msg)
    expectProblem(await as(outsider, 'GET', `/messages/${msg.id}`), 404, 'NOT_FOUND')
    expectProblem(await as(owner, 'GET', `/messages/${MISSING_ID}`), 404, 'NOT_FOUND')
    expectProblem(await as(owner, 'GET', '/messages/xyz'), 400, 'VALIDATION_FAILED')
  })

  test('PATCH /messages/:id: the author edits (editedAt set); other members 403, the owner too; outsiders 404', async () => {
    const msg = await t.message(member, chat.id, 'first draft')
    expectProblem(await as(owner, 'PATCH', `/messages/${msg.id}`, { text: 'owner edit' }), 403, 'FORBIDDEN')
    expectProblem(await as(outsider, 'PATCH', `/messages/${msg.id}`, { text: 'outsider edit' }), 404, 'NOT_FOUND')
    expectProblem(await as(member, 'PATCH', `/messages/${msg.id}`, { text: '   ' }), 400, 'VALIDATION_FAILED')
    expectProblem(await as(member, 'PATCH', `/messages/${msg.id}`, { text: 'x'.repeat(4001) }), 400, 'VALIDATION_FAILED')
    expect((await as(member, 'GET', `/messages/${msg.id}`)).json()).toEqual(msg)

    const res = await as(member, 'PATCH', `/messages/${msg.id}`, { text: ' final ', senderId: owner.id, chatId: MISSING_ID })
    expect(res.statusCode).toBe(200)
    const edited = res.json()
    expect(edited).toMatchObject({ id: msg.id, chatId: chat.id, senderId: member.id, text: 'final', createdAt: msg.createdAt })
    expect(edited.editedAt).not.toBeNull()
    expect(Date.parse(edited.editedAt)).toBeGreaterThanOrEqual(Date.parse(msg.createdAt))
    expect(edited.updatedAt).toBe(edited.editedAt)
    expect((await as(owner, 'GET', `/messages/${msg.id}`)).json()).toEqual(edited)
    expectProblem(await as(member, 'PATCH', `/messages/${MISSING_ID}`, { text: 'x' }), 404, 'NOT_FOUND')
  })

  test("DELETE /messages/:id: the author or the chat's owner; another member 403; outsiders 404", async () => {
    const byMember = await t.message(member, chat.id)
    const byOwner = await t.message(owner, chat.id)
    const another = await t.message(member, chat.id)
    expectProblem(await as(member, 'DELETE', `/messages/${byOwner.id}`), 403, 'FORBIDDEN')
    expectProblem(await as(outsider, 'DELETE', `/messages/${byMember.id}`), 404, 'NOT_FOUND')
    expect((await as(owner, 'GET', `/messages/${byOwner.id}`)).statusCode).toBe(200)
    expect((await as(owner, 'GET', `/messages/${byMember.id}`)).statusCode).toBe(200)

    const ownerDeletes = await as(owner, 'DELETE', `/messages/${byMember.id}`)
    expect(ownerDeletes.statusCode).toBe(204)
    expect(ownerDeletes.body).toBe('')
    expect((await as(member, 'DELETE', `/messages/${another.id}`)).statusCode).toBe(204)
    expect((await as(owner, 'DELETE', `/messages/${byOwner.id}`)).statusCode).toBe(204)
    for (const m of [byMember, byOwner, another]) {
      expectProblem(await as(owner, 'GET', `/messages/${m.id}`), 404, 'NOT_FOUND')
      expectProblem(await as(owner, 'DELETE', `/messages/${m.id}`), 404, 'NOT_FOUND')
    }
    expect(await t.db.selectFrom('messages').select('id').where('id', 'in', [byMember.id, byOwner.id, another.id]).execute()).toEqual([])
  })

  test('a member who left loses access to the messages; a new member sees the history', async () => {
    const c = await t.chat(owner, [member])
    const msg = await t.message(member, c.id)
    expect((await as(member, 'DELETE', `/chats/${c.id}/members/${member.id}`)).statusCode).toBe(204)
    expectProblem(await as(member, 'GET', `/messages/${msg.id}`), 404)
    expectProblem(await as(member, 'PATCH', `/messages/${msg.id}`, { text: 'edit after leaving' }), 404)
    expectProblem(await as(member, 'POST', '/messages', { chatId: c.id, text: 'still here?' }), 404)
    expect((await as(owner, 'POST', `/chats/${c.id}/members`, { userId: outsider.id })).statusCode).toBe(201)
    expect((await t.page<MessageJson>(outsider, `/messages?chatId=${c.id}`)).items.map((m) => m.id)).toEqual([msg.id])
    expect((await as(owner, 'DELETE', `/chats/${c.id}/members/${outsider.id}`)).statusCode).toBe(204)
  })

  test('every /messages route needs a bearer token', async () => {
    const msg = await t.message(owner, chat.id)
    for (const [method, url, payload] of [
      ['POST', '/messages', { chatId: chat.id, text: 'x' }],
      ['GET', `/messages?chatId=${chat.id}`],
      ['GET', `/messages/${msg.id}`],
      ['PATCH', `/messages/${msg.id}`, { text: 'x' }],
      ['DELETE', `/messages/${msg.id}`],
    ] as const) {
      const res = await t.inject({ method, url, ...(payload ? { payload } : {}) })
      expectProblem(res, 401, 'UNAUTHORIZED')
      expect(res.headers['www-authenticate']).toBe('Bearer')
    }
  })

  test('a page of 50 is an index range scan of 51 entries, on page 1 and deep in 5,000 messages alike, and in a catch-up', async () => {
    const c = await t.chat(owner, [member])
    // 5,000 messages written by 100 transactions, as posts accumulate: PostgreSQL estimates a keyset
    // bound by its first column, tx, so the chat's tx values must spread as real posts' do (were they
    // all one transaction's, `tx < that one` would estimate no rows, and a bitmap scan and a sort of
    // every message below the cursor would look cheaper).
    for (let batch = 0; batch < 100; batch++) {
      await sql`
        insert into messages (chat_id, sender_id, text, created_at)
        select ${c.id}::uuid, ${member.id}::uuid, 'bulk ' || g, now() - make_interval(secs => 5001 - g)
        from generate_series(${batch * 50 + 1}::int, ${batch * 50 + 50}::int) g`.execute(t.db)
    }
    // A table of many chats, as in production: 20,000 newer messages in 100 other chats. The whole
    // table's (tx, created_at, id) index would have to step over them; the chat's own goes straight to
    // the page.
    await sql`
      with other as (insert into chats (name, owner_id) select 'other ' || g, ${owner.id}::uuid from generate_series(1, 100) g returning id)
      insert into messages (chat_id, sender_id, text) select other.id, ${owner.id}::uuid, 'other ' || g from other, generate_series(1, 200) g`.execute(t.db)
    await sql`analyze messages`.execute(t.db)

    /** EXPLAIN ANALYZE of exactly the statement the app ran for one page, with its parameters. */
    const explainPage = async (query: string) => {
      t.queries.length = 0
      const page: Page<MessageJson> = await t.page(member, `/messages?chatId=${c.id}&limit=50${query}`)
      const select = t.queries.find((q) => /^select/i.test(q.sql) && /from "messages"/.test(q.sql) && /order by/i.test(q.sql))
      expect(select, t.queries.map((q) => q.sql).join('\n')).toBeDefined()
      const { rows } = await t.db.executeQuery<Record<string, string>>(CompiledQuery.raw(`explain (analyze, costs off) ${select!.sql}`, [...select!.parameters]))
      return { page, sql: select!.sql, plan: rows.map((r) => Object.values(r)[0]).join('\n') }
    }

    let cursor: string | null = null
    for (let i = 0; i < 90; i++) cursor = (await t.page<MessageJson>(member, `/messages?chatId=${c.id}&limit=50${cursor ? `&cursor=${cursor}` : ''}`)).nextCursor
    const first = await explainPage('')
    const deep = await explainPage(`&cursor=${cursor}`)
    expect(first.page.items[0]!.text).toBe('bulk 5000')
    expect(deep.page.items.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `bulk ${500 - i}`))

    for (const { sql: text, plan } of [first, deep]) {
      expect(text).not.toMatch(/offset/i)
      expect(plan).toMatch(/Index Scan Backward using messages_(chat_)?tx on messages/)
      expect(plan).not.toMatch(/Sort Key|Seq Scan|Bitmap/)
    }
    // The deep page starts its scan at the cursor (an Index Cond on the keyset), so it reads the
    // same 51 index entries as the first page: page 91 costs what page 1 costs. (Below the cursor the
    // table holds only this chat's messages, so the planner may as well walk the whole table's index.)
    const entriesRead = (plan: string) =>
      Number(/Index Scan.*rows=(\d+)/.exec(plan)?.[1]) + Number(/Rows Removed by Filter: (\d+)/.exec(plan)?.[1] ?? 0)
    expect(first.plan).toMatch(/using messages_chat_tx/)
    expect(entriesRead(first.plan)).toBe(51)
    expect(entriesRead(deep.plan)).toBe(51)
    expect(deep.plan).toMatch(/Index Cond: \(.*ROW\(tx, created_at, id\) < ROW\(/)

    // A catch-up (settled messages only) is the same range scan, forward.
    const anchor = deep.page.items.at(-1)!
    const catchUp = await explainPage(`&after=${anchor.id}`)
    expect(catchUp.page.items.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `bulk ${452 + i}`))
    expect(catchUp.plan).toMatch(/Index Scan using messages_(chat_)?tx on messages/)
    expect(catchUp.plan).not.toMatch(/Sort Key|Seq Scan|Bitmap/)
    expect(entriesRead(catchUp.plan)).toBe(51)
    expect(catchUp.plan).toMatch(/Index Cond: \(.*ROW\(tx, created_at, id\) > ROW\(/)
  })
})
