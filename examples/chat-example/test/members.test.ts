import { beforeAll, describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, MISSING_ID, useChatApp, type ChatJson, type Page, type TestUser } from './support/chat-app.js'

type MemberJson = { userId: string; username: string; role: 'owner' | 'member'; joinedAt: string }

/**
 * Who may do what to a chat: the owner, a member and an outsider (a non-member). Outsiders get the
 * same 404 as for a chat that does not exist; members get 403 where only the owner may act.
 */
describe.each(dialectsUnderTest())('chat permissions and members on %s', (kind) => {
  const t = useChatApp(kind)
  let owner: TestUser
  let member: TestUser
  let outsider: TestUser
  let chat: ChatJson
  /** The 404 body of a chat that does not exist: what an outsider must get, byte for byte. */
  let missing: string

  beforeAll(async () => {
    owner = await t.user('owner')
    member = await t.user('member')
    outsider = await t.user('outsider')
    chat = await t.chat(owner, [member], { name: 'the matrix' })
    missing = (await t.inject({ method: 'GET', url: `/chats/${MISSING_ID}`, headers: outsider.headers })).body
  })

  const as = (user: TestUser, method: string, url: string, payload?: object) =>
    t.inject({ method: method as 'GET', url, headers: user.headers, ...(payload ? { payload } : {}) })

  /** Expects exactly the "chat not found" answer, and that the same request on a missing chat gives it too. */
  const expectHidden = async (user: TestUser, method: string, url: string, payload?: object, chatId = chat.id) => {
    const res = await as(user, method, url, payload)
    expectProblem(res, 404, 'NOT_FOUND')
    expect(res.body).toBe(missing)
    const onMissing = await as(user, method, url.replace(chatId, MISSING_ID), payload)
    expect(onMissing.statusCode).toBe(404)
    expect(onMissing.body).toBe(missing)
  }

  test('GET /chats/:id: owner 200, member 200, outsider 404 as for a missing chat', async () => {
    for (const user of [owner, member]) expect((await as(user, 'GET', `/chats/${chat.id}`)).json()).toMatchObject({ id: chat.id })
    await expectHidden(outsider, 'GET', `/chats/${chat.id}`)
  })

  test('PATCH /chats/:id: owner 200, member 403, outsider 404; refusals change nothing', async () => {
    expectProblem(await as(member, 'PATCH', `/chats/${chat.id}`, { name: 'mine now' }), 403, 'FORBIDDEN')
    await expectHidden(outsider, 'PATCH', `/chats/${chat.id}`, { name: 'mine now' })
    expect((await as(owner, 'GET', `/chats/${chat.id}`)).json().name).toBe('the matrix')
    const res = await as(owner, 'PATCH', `/chats/${chat.id}`, { name: 'the matrix' })
    expect(res.statusCode).toBe(200)
  })

  test('DELETE /chats/:id: member 403, outsider 404, and the chat is still there; owner 204', async () => {
    expectProblem(await as(member, 'DELETE', `/chats/${chat.id}`), 403, 'FORBIDDEN')
    await expectHidden(outsider, 'DELETE', `/chats/${chat.id}`)
    expect((await as(owner, 'GET', `/chats/${chat.id}`)).statusCode).toBe(200)
    const doomed = await t.chat(owner, [member])
    expect((await as(owner, 'DELETE', `/chats/${doomed.id}`)).statusCode).toBe(204)
  })

  test('GET /chats/:id/members: owner and member see the members with their roles; outsider 404', async () => {
    for (const user of [owner, member]) {
      const page: Page<MemberJson> = await t.page(user, `/chats/${chat.id}/members`)
      // Both joined when the chat was created, in one insert: their relative order is unspecified.
      expect(page.items.map((m) => [m.userId, m.username, m.role]).sort()).toEqual(
        [[owner.id, owner.username, 'owner'], [member.id, member.username, 'member']].sort(),
      )
    }
    await expectHidden(outsider, 'GET', `/chats/${chat.id}/members`)
  })

  test('GET /chats/:id/members pages with limit and cursor', async () => {
    const big = await t.chat(owner)
    const joined: TestUser[] = []
    for (let i = 0; i < 4; i++) {
      const user = await t.user('joiner')
      expect((await as(owner, 'POST', `/chats/${big.id}/members`, { userId: user.id })).statusCode).toBe(201)
      joined.push(user)
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Page<MemberJson> = await t.page(owner, `/chats/${big.id}/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...page.items.map((m) => m.userId))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual([owner.id, ...joined.map((u) => u.id)])
    expectProblem(await as(owner, 'GET', `/chats/${big.id}/members?cursor=garbage`), 400)
    expectProblem(await as(owner, 'GET', `/chats/${big.id}/members?limit=0`), 400, 'VALIDATION_FAILED')
  })

  test('POST /chats/:id/members: owner 201; member 403; outsider 404; already a member 409; unknown user 404', async () => {
    const newcomer = await t.user('new')
    const viaMember = await as(member, 'POST', `/chats/${chat.id}/members`, { userId: newcomer.id })
    expectProblem(viaMember, 403, 'FORBIDDEN')
    await expectHidden(outsider, 'POST', `/chats/${chat.id}/members`, { userId: newcomer.id })
    // The outsider cannot add themself either.
    await expectHidden(outsider, 'POST', `/chats/${chat.id}/members`, { userId: outsider.id })
    expect(await t.db.selectFrom('chatMembers').select('id').where('chatId', '=', chat.id).where('userId', 'in', [newcomer.id, outsider.id]).execute()).toEqual([])

    const added = await as(owner, 'POST', `/chats/${chat.id}/members`, { userId: newcomer.id })
    expect(added.statusCode).toBe(201)
    expect(added.json()).toEqual({ userId: newcomer.id, username: newcomer.username, role: 'member', joinedAt: expect.any(String) })
    expect((await as(newcomer, 'GET', `/chats/${chat.id}`)).statusCode).toBe(200)

    expectProblem(await as(owner, 'POST', `/chats/${chat.id}/members`, { userId: newcomer.id }), 409, 'CONFLICT')
    expectProblem(await as(owner, 'POST', `/chats/${chat.id}/members`, { userId: owner.id }), 409, 'CONFLICT')
    expectProblem(await as(owner, 'POST', `/chats/${chat.id}/members`, { userId: MISSING_ID }), 404, 'NOT_FOUND')
    expectProblem(await as(owner, 'POST', `/chats/${chat.id}/members`, { userId: 'nope' }), 400, 'VALIDATION_FAILED')
    expect(await t.db.selectFrom('chatMembers').select('id').where('chatId', '=', chat.id).where('userId', '=', newcomer.id).execute()).toHaveLength(1)

    // Tidy up for the tests below.
    expect((await as(owner, 'DELETE', `/chats/${chat.id}/members/${newcomer.id}`)).statusCode).toBe(204)
  })

  test('DELETE /chats/:id/members/:userId: the owner removes others, a member only leaves, an outsider gets 404', async () => {
    const c = await t.chat(owner, [member])
    const third = await t.user('third')
    await as(owner, 'POST', `/chats/${c.id}/members`, { userId: third.id })

    expectProblem(await as(member, 'DELETE', `/chats/${c.id}/members/${third.id}`), 403, 'FORBIDDEN')
    expectProblem(await as(member, 'DELETE', `/chats/${c.id}/members/${owner.id}`), 403, 'FORBIDDEN')
    expectProblem(await as(owner, 'DELETE', `/chats/${c.id}/members/${owner.id}`), 403, 'FORBIDDEN')
    const hidden = await as(outsider, 'DELETE', `/chats/${c.id}/members/${member.id}`)
    expectProblem(hidden, 404, 'NOT_FOUND')
    expect(hidden.body).toBe(missing)
    expect(await t.db.selectFrom('chatMembers').select('userId').where('chatId', '=', c.id).execute()).toHaveLength(3)

    // The owner removes a member; removing a non-member is 404.
    expect((await as(owner, 'DELETE', `/chats/${c.id}/members/${third.id}`)).statusCode).toBe(204)
    expectProblem(await as(owner, 'DELETE', `/chats/${c.id}/members/${third.id}`), 404, 'NOT_FOUND')
    expectProblem(await as(owner, 'DELETE', `/chats/${c.id}/members/${outsider.id}`), 404, 'NOT_FOUND')
    // A removed member no longer sees the chat.
    await expectHidden(third, 'GET', `/chats/${c.id}`, undefined, c.id)

    // A member leaves.
    expect((await as(member, 'DELETE', `/chats/${c.id}/members/${member.id}`)).statusCode).toBe(204)
    expectProblem(await as(member, 'GET', `/chats/${c.id}`), 404)
    expect((await t.page<MemberJson>(owner, `/chats/${c.id}/members`)).items.map((m) => m.userId)).toEqual([owner.id])
    expectProblem(await as(owner, 'DELETE', `/chats/${c.id}/members/not-a-uuid`), 400, 'VALIDATION_FAILED')
  })

  test("a non-member's view of messages: 404 everywhere, exactly as for a missing chat", async () => {
    const msg = await t.message(member, chat.id)
    const missingMessage = (await as(outsider, 'GET', `/messages/${MISSING_ID}`)).body
    for (const [method, payload] of [['GET'], ['PATCH', { text: 'x' }], ['DELETE']] as const) {
      const res = await as(outsider, method, `/messages/${msg.id}`, payload)
      expectProblem(res, 404, 'NOT_FOUND')
      expect(res.body).toBe(missingMessage)
    }
    const list = await as(outsider, 'GET', `/messages?chatId=${chat.id}`)
    expectProblem(list, 404, 'NOT_FOUND')
    expect(list.body).toBe((await as(outsider, 'GET', `/messages?chatId=${MISSING_ID}`)).body)
    const post = await as(outsider, 'POST', '/messages', { chatId: chat.id, text: 'let me in' })
    expectProblem(post, 404, 'NOT_FOUND')
    expect(post.body).toBe((await as(outsider, 'POST', '/messages', { chatId: MISSING_ID, text: 'let me in' })).body)
    expect(await t.db.selectFrom('messages').select('id').where('senderId', '=', outsider.id).execute()).toEqual([])
    expect((await as(member, 'GET', `/messages/${msg.id}`)).json().text).toBe(msg.text)
  })

  test("the outsider's own list of chats does not show the chat", async () => {
    const page: Page<ChatJson> = await t.page(outsider, '/chats')
    expect(page.items.map((c) => c.id)).not.toContain(chat.id)
  })
})
