import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, MISSING_ID, useChatApp, type ChatJson, type Page } from './support/chat-app.js'

type MemberJson = { userId: string; username: string; role: 'owner' | 'member'; joinedAt: string }

describe.each(dialectsUnderTest())('/chats over HTTP on %s', (kind) => {
  const t = useChatApp(kind)

  test('POST /chats: 201 with the chat; the caller is its owner and only member', async () => {
    const owner = await t.user('own')
    const res = await t.inject({ method: 'POST', url: '/chats', headers: owner.headers, payload: { name: '  Lunch  ' } })
    expect(res.statusCode).toBe(201)
    const chat = res.json()
    expect(Object.keys(chat).sort()).toEqual(['createdAt', 'id', 'isGroup', 'name', 'ownerId', 'updatedAt'])
    expect(chat).toMatchObject({ name: 'Lunch', isGroup: false, ownerId: owner.id })
    const members: Page<MemberJson> = await t.page(owner, `/chats/${chat.id}/members`)
    expect(members).toEqual({ items: [{ userId: owner.id, username: owner.username, role: 'owner', joinedAt: expect.any(String) }], nextCursor: null })
  })

  test('POST /chats with memberIds adds them as members (duplicates and the caller counted once)', async () => {
    const owner = await t.user('own')
    const a = await t.user('a')
    const b = await t.user('b')
    const chat = await t.chat(owner, [], { name: 'group', isGroup: true, memberIds: [a.id, b.id, a.id, owner.id] })
    expect(chat.isGroup).toBe(true)
    const members: Page<MemberJson> = await t.page(owner, `/chats/${chat.id}/members`)
    // They all joined at once (one insert), so their order among themselves is unspecified.
    expect(members.items.map((m) => [m.userId, m.username, m.role]).sort()).toEqual(
      [[owner.id, owner.username, 'owner'], [a.id, a.username, 'member'], [b.id, b.username, 'member']].sort(),
    )
    // The new members see the chat.
    expect((await t.inject({ method: 'GET', url: `/chats/${chat.id}`, headers: b.headers })).json()).toEqual(chat)
  })

  test('POST /chats with an unknown member id is a 400 naming it, and creates nothing', async () => {
    const owner = await t.user('own')
    const a = await t.user('a')
    const name = `ghost ${randomBytes(4).toString('hex')}`
    const res = await t.inject({ method: 'POST', url: '/chats', headers: owner.headers, payload: { name, memberIds: [a.id, MISSING_ID] } })
    const problem = expectProblem(res, 400, 'VALIDATION_FAILED')
    expect(problem.errors).toEqual([{ path: 'body.memberIds.1', message: 'no such user' }])
    expect(await t.db.selectFrom('chats').select('id').where('name', '=', name).execute()).toEqual([])
    expect(await t.db.selectFrom('chatMembers').select('id').where('userId', 'in', [owner.id, a.id]).execute()).toEqual([])
  })

  test('GET /chats lists only the chats the caller is a member of, paginated', async () => {
    const me = await t.user('me')
    const other = await t.user('other')
    const mine: ChatJson[] = []
    for (let i = 0; i < 3; i++) mine.push(await t.chat(me))
    mine.push(await t.chat(other, [me]))
    const notMine = await t.chat(other)

    const seen: ChatJson[] = []
    let cursor: string | null = null
    do {
      const page: Page<ChatJson> = await t.page(me, `/chats?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items)
      cursor = page.nextCursor
    } while (cursor)
    expect(seen.map((c) => c.id).sort()).toEqual(mine.map((c) => c.id).sort())
    // Default order: newest first (by creation, a key that never changes).
    expect(seen.map((c) => c.id)).toEqual([...mine].reverse().map((c) => c.id))

    const theirs: Page<ChatJson> = await t.page(other, '/chats')
    expect(theirs.items.map((c) => c.id).sort()).toEqual([mine[3]!.id, notMine.id].sort())

    const byName: Page<ChatJson> = await t.page(me, '/chats?sort=name')
    expect(byName.items.map((c) => c.name)).toEqual(mine.map((c) => c.name).sort())
  })

  test('renaming chats while a client pages the default order: every chat is seen exactly once', async () => {
    const me = await t.user('pager')
    const mine: ChatJson[] = []
    for (let i = 0; i < 7; i++) mine.push(await t.chat(me, [], { name: `page-${i}` }))
    const rename = (chat: ChatJson, name: string) =>
      t.inject({ method: 'PATCH', url: `/chats/${chat.id}`, headers: me.headers, payload: { name } })

    const seen: string[] = []
    let cursor: string | null = null
    let round = 0
    do {
      const page: Page<ChatJson> = await t.page(me, `/chats?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...page.items.map((c) => c.id))
      cursor = page.nextCursor
      // Between pages, rename the chat the client has not reached yet and one it has already seen.
      const unseen = mine.filter((c) => !seen.includes(c.id))
      if (unseen.length) expect((await rename(unseen[0]!, `renamed-${round}-a`)).statusCode).toBe(200)
      expect((await rename(mine.find((c) => c.id === seen[0])!, `renamed-${round}-b`)).statusCode).toBe(200)
      round++
    } while (cursor)
    expect(seen).toHaveLength(mine.length)
    expect([...seen].sort()).toEqual(mine.map((c) => c.id).sort())
  })

  test('GET /chats/:id is 200 for a member, 404 for a missing chat, 400 for a malformed id', async () => {
    const owner = await t.user('own')
    const chat = await t.chat(owner)
    expect((await t.inject({ method: 'GET', url: `/chats/${chat.id}`, headers: owner.headers })).json()).toEqual(chat)
    expectProblem(await t.inject({ method: 'GET', url: `/chats/${MISSING_ID}`, headers: owner.headers }), 404, 'NOT_FOUND')
    expectProblem(await t.inject({ method: 'GET', url: '/chats/123', headers: owner.headers }), 400, 'VALIDATION_FAILED')
  })

  test('PATCH /chats/:id renames the chat and moves updatedAt', async () => {
    const owner = await t.user('own')
    const chat = await t.chat(owner)
    const res = await t.inject({ method: 'PATCH', url: `/chats/${chat.id}`, headers: owner.headers, payload: { name: 'renamed' } })
    expect(res.statusCode).toBe(200)
    const updated = res.json()
    expect(updated).toMatchObject({ id: chat.id, name: 'renamed', createdAt: chat.createdAt, ownerId: owner.id })
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(chat.updatedAt))
    expect((await t.inject({ method: 'GET', url: `/chats/${chat.id}`, headers: owner.headers })).json()).toEqual(updated)
    // A renamed chat moves to the top of the list by recent activity (the default order stays by creation).
    const newer = await t.chat(owner)
    await t.inject({ method: 'PATCH', url: `/chats/${chat.id}`, headers: owner.headers, payload: { name: 'again' } })
    expect((await t.page<ChatJson>(owner, '/chats?limit=1&sort=-updatedAt')).items[0]!.id).toBe(chat.id)
    expect((await t.page<ChatJson>(owner, '/chats?limit=1')).items[0]!.id).toBe(newer.id)
  })

  test('PUT is not a route of /chats: 405 with the methods that are', async () => {
    const owner = await t.user('own')
    const chat = await t.chat(owner)
    const res = await t.inject({ method: 'PUT', url: `/chats/${chat.id}`, headers: owner.headers, payload: { name: 'x' } })
    expectProblem(res, 405, 'METHOD_NOT_ALLOWED')
    expect(res.headers.allow).toBe('DELETE, GET, HEAD, PATCH')
  })

  test('DELETE /chats/:id removes the chat with its messages and memberships, and nothing else', async () => {
    const owner = await t.user('own')
    const member = await t.user('mem')
    const chat = await t.chat(owner, [member])
    const kept = await t.chat(owner, [member])
    for (const sender of [owner, member, owner]) await t.message(sender, chat.id)
    const keptMessage = await t.message(member, kept.id)

    const res = await t.inject({ method: 'DELETE', url: `/chats/${chat.id}`, headers: owner.headers })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect(await t.db.selectFrom('chats').select('id').where('id', '=', chat.id).execute()).toEqual([])
    expect(await t.db.selectFrom('messages').select('id').where('chatId', '=', chat.id).execute()).toEqual([])
    expect(await t.db.selectFrom('chatMembers').select('id').where('chatId', '=', chat.id).execute()).toEqual([])
    expect(await t.db.selectFrom('chatMembers').select('userId').where('chatId', '=', kept.id).execute()).toHaveLength(2)
    expect((await t.inject({ method: 'GET', url: `/messages/${keptMessage.id}`, headers: member.headers })).statusCode).toBe(200)

    expectProblem(await t.inject({ method: 'GET', url: `/chats/${chat.id}`, headers: owner.headers }), 404)
    expectProblem(await t.inject({ method: 'DELETE', url: `/chats/${chat.id}`, headers: owner.headers }), 404)
    expect((await t.page<ChatJson>(member, '/chats')).items.map((c) => c.id)).toEqual([kept.id])
  })

  test('every /chats route needs a bearer token', async () => {
    const owner = await t.user('own')
    const chat = await t.chat(owner)
    const routes: [string, string, object?][] = [
      ['POST', '/chats', { name: 'x' }],
      ['GET', '/chats'],
      ['GET', `/chats/${chat.id}`],
      ['PATCH', `/chats/${chat.id}`, { name: 'x' }],
      ['DELETE', `/chats/${chat.id}`],
      ['GET', `/chats/${chat.id}/members`],
      ['POST', `/chats/${chat.id}/members`, { userId: owner.id }],
      ['DELETE', `/chats/${chat.id}/members/${owner.id}`],
    ]
    for (const [method, url, payload] of routes) {
      const res = await t.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) })
      expectProblem(res, 401, 'UNAUTHORIZED')
      expect(res.headers['www-authenticate']).toBe('Bearer')
    }
    expect((await t.inject({ method: 'GET', url: `/chats/${chat.id}`, headers: owner.headers })).json().name).toBe(chat.name)
  })
})
