import { beforeAll, describe, expect, test } from 'vitest'
import type { InjectOptions } from 'fastify'
import { sql } from 'kysely'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, MISSING_ID, useChatApp, type ChatJson, type MessageJson, type TestUser } from './support/chat-app.js'

/** A cursor with the right shape for a list sorted by `sort`, carrying `values` a client made up. */
const forgedCursor = (sort: string, values: unknown[]) => Buffer.from(JSON.stringify([sort, values])).toString('base64url')
const uuids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)

/**
 * Bad input of every shape, on every route: each is a 4xx problem+json with a `code`, never a 5xx,
 * and nothing is written.
 */
describe.each(dialectsUnderTest())('bad input on %s', (kind) => {
  const t = useChatApp(kind)
  let u: TestUser
  let chat: ChatJson
  let message: MessageJson
  let counts: Record<string, number>

  const countRows = async () => {
    const tables = ['users', 'chats', 'chat_members', 'messages', 'refresh_tokens'] as const
    const result: Record<string, number> = {}
    for (const table of tables) {
      result[table] = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(t.db)).rows[0]!.n
    }
    return result
  }

  beforeAll(async () => {
    u = await t.user('val')
    chat = await t.chat(u)
    message = await t.message(u, chat.id)
    counts = await countRows()
  })

  type Case = [name: string, request: () => InjectOptions, status: number, code?: string]
  const post = (url: string, payload: unknown, auth = true): InjectOptions => ({
    method: 'POST',
    url,
    headers: auth ? u.headers : {},
    payload: payload as object,
  })
  const patch = (url: string, payload: unknown): InjectOptions => ({ method: 'PATCH', url, headers: u.headers, payload: payload as object })
  const get = (url: string): InjectOptions => ({ method: 'GET', url, headers: u.headers })
  const raw = (method: 'POST' | 'PATCH', url: string, contentType: string, payload: string): InjectOptions => ({
    method,
    url,
    headers: { ...u.headers, 'content-type': contentType },
    payload,
  })
  const V = 'VALIDATION_FAILED'
  const good = { username: 'valid_name', password: 'long enough' }

  const cases: Case[] = [
    // POST /auth/register
    ['register: no body', () => ({ method: 'POST', url: '/auth/register' }), 400, V],
    ['register: body is an array', () => post('/auth/register', [good], false), 400, V],
    ['register: body is a string', () => raw('POST', '/auth/register', 'application/json', '"hello"'), 400, V],
    ['register: username missing', () => post('/auth/register', { password: good.password }, false), 400, V],
    ['register: username is a number', () => post('/auth/register', { ...good, username: 12345 }, false), 400, V],
    ['register: username too short', () => post('/auth/register', { ...good, username: 'ab' }, false), 400, V],
    ['register: username too long', () => post('/auth/register', { ...good, username: 'a'.repeat(33) }, false), 400, V],
    ['register: username with a space', () => post('/auth/register', { ...good, username: 'two words' }, false), 400, V],
    ['register: username with non-ASCII letters', () => post('/auth/register', { ...good, username: 'zoë_ünï' }, false), 400, V],
    ['register: password missing', () => post('/auth/register', { username: good.username }, false), 400, V],
    ['register: password is a number', () => post('/auth/register', { ...good, password: 12345678 }, false), 400, V],
    ['register: password too short', () => post('/auth/register', { ...good, password: '1234567' }, false), 400, V],
    ['register: password too long', () => post('/auth/register', { ...good, password: 'x'.repeat(129) }, false), 400, V],
    // POST /auth/login
    ['login: password missing', () => post('/auth/login', { username: 'someone' }, false), 400, V],
    ['login: username is an object', () => post('/auth/login', { username: { $ne: '' }, password: 'x' }, false), 400, V],
    ['login: unknown grant_type', () => post('/auth/login', { ...good, grant_type: 'client_credentials' }, false), 400, V],
    ['login: username too long', () => post('/auth/login', { username: 'a'.repeat(257), password: 'x' }, false), 400, V],
    ['login: form without a password', () => ({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=x&grant_type=password' }), 400, V],
    // POST /auth/refresh and /auth/logout
    ['refresh: refresh_token missing', () => post('/auth/refresh', {}, false), 400, V],
    ['refresh: refresh_token is a number', () => post('/auth/refresh', { refresh_token: 42 }, false), 400, V],
    ['refresh: refresh_token empty', () => post('/auth/refresh', { refresh_token: '' }, false), 400, V],
    ['refresh: refresh_token too long', () => post('/auth/refresh', { refresh_token: 'x'.repeat(513) }, false), 400, V],
    ['refresh: refresh_token unknown', () => post('/auth/refresh', { refresh_token: 'x'.repeat(43) }, false), 401, 'UNAUTHORIZED'],
    ['logout: refresh_token is a number', () => post('/auth/logout', { refresh_token: 42 }), 400, V],
    // /users
    ['users: search too long', () => get(`/users?search=${'a'.repeat(33)}`), 400, V],
    ['users: limit 0', () => get('/users?limit=0'), 400, V],
    ['users: limit given twice', () => get('/users?limit=1&limit=2'), 400, V],
    ['users: bad cursor', () => get('/users?cursor=%%%'), 400, 'BAD_REQUEST'],
    ['users: forged cursor with a bad value type', () => get(`/users?cursor=${forgedCursor('username,id', [1, 2])}`), 400, 'BAD_REQUEST'],
    ['users: bad id', () => get('/users/1234'), 400, V],
    // POST /chats
    ['chats: name missing', () => post('/chats', {}), 400, V],
    ['chats: name empty', () => post('/chats', { name: '' }), 400, V],
    ['chats: name only spaces', () => post('/chats', { name: '   ' }), 400, V],
    ['chats: name too long', () => post('/chats', { name: 'n'.repeat(101) }), 400, V],
    ['chats: name is a number', () => post('/chats', { name: 7 }), 400, V],
    ['chats: name is null', () => post('/chats', { name: null }), 400, V],
    ['chats: isGroup is a string', () => post('/chats', { name: 'x', isGroup: 'yes' }), 400, V],
    ['chats: isGroup is a number', () => post('/chats', { name: 'x', isGroup: 1 }), 400, V],
    ['chats: memberIds is a string', () => post('/chats', { name: 'x', memberIds: MISSING_ID }), 400, V],
    ['chats: memberIds holds a number', () => post('/chats', { name: 'x', memberIds: [1] }), 400, V],
    ['chats: memberIds holds a bad uuid', () => post('/chats', { name: 'x', memberIds: ['not-a-uuid'] }), 400, V],
    ['chats: memberIds too many', () => post('/chats', { name: 'x', memberIds: uuids(101) }), 400, V],
    ['chats: memberIds unknown', () => post('/chats', { name: 'x', memberIds: [MISSING_ID] }), 400, V],
    // GET /chats
    ['chats list: limit 0', () => get('/chats?limit=0'), 400, V],
    ['chats list: limit 101', () => get('/chats?limit=101'), 400, V],
    ['chats list: limit not a number', () => get('/chats?limit=ten'), 400, V],
    ['chats list: limit a fraction', () => get('/chats?limit=2.5'), 400, V],
    ['chats list: unknown sort field', () => get('/chats?sort=ownerId'), 400, V],
    ['chats list: sort by a secret', () => get('/chats?sort=-passwordHash'), 400, V],
    ['chats list: unknown count value', () => get('/chats?count=maybe'), 400, V],
    ['chats list: unknown parameter', () => get('/chats?owner=me'), 400, V],
    ['chats list: garbage cursor', () => get('/chats?cursor=!!'), 400, 'BAD_REQUEST'],
    ['chats list: cursor of another sort', () => get(`/chats?sort=name&cursor=${forgedCursor('-updatedAt,-id', ['2024-01-01', MISSING_ID])}`), 400, 'BAD_REQUEST'],
    ['chats list: forged cursor with a bad timestamp', () => get(`/chats?cursor=${forgedCursor('-updatedAt,-id', ['yesterday-ish', 'zzz'])}`), 400, 'BAD_REQUEST'],
    ['chats list: forged cursor with a bad id', () => get(`/chats?cursor=${forgedCursor('-createdAt,-id', ['2024-01-01 00:00:00+00', 'not-a-uuid'])}`), 400, 'BAD_REQUEST'],
    ['chats list: forged cursor with an impossible date', () => get(`/chats?cursor=${forgedCursor('-createdAt,-id', ['2024-02-30 00:00:00+00', MISSING_ID])}`), 400, 'BAD_REQUEST'],
    ['users: forged cursor with a NUL', () => get(`/users?cursor=${forgedCursor('username,id', ['a\u0000', MISSING_ID])}`), 400, 'BAD_REQUEST'],
    ['members list: forged cursor with a bad id', () => get(`/chats/${chat.id}/members?cursor=${forgedCursor('joinedAt,id', ['2024-01-01 00:00:00+00', 'nope'])}`), 400, 'BAD_REQUEST'],
    ['chats list: forged cursor with too many values', () => get(`/chats?cursor=${forgedCursor('-updatedAt,-id', ['2024-01-01', MISSING_ID, 'x'])}`), 400, 'BAD_REQUEST'],
    // /chats/:id and members
    ['chat get: bad id', () => get('/chats/not-a-uuid'), 400, V],
    ['chat patch: bad id', () => patch('/chats/not-a-uuid', { name: 'x' }), 400, V],
    ['chat delete: bad id', () => ({ method: 'DELETE', url: '/chats/1', headers: u.headers }), 400, V],
    ['chat patch: no name', () => patch(`/chats/${chat.id}`, {}), 400, V],
    ['chat patch: name is null', () => patch(`/chats/${chat.id}`, { name: null }), 400, V],
    ['chat patch: name too long', () => patch(`/chats/${chat.id}`, { name: 'n'.repeat(101) }), 400, V],
    ['chat patch: name is a list', () => patch(`/chats/${chat.id}`, { name: ['a'] }), 400, V],
    ['members list: bad chat id', () => get('/chats/x/members'), 400, V],
    ['members list: limit 1000', () => get(`/chats/${chat.id}/members?limit=1000`), 400, V],
    ['members list: bad cursor', () => get(`/chats/${chat.id}/members?cursor=${forgedCursor('joinedAt,id', ['not a time', 'x'])}`), 400, 'BAD_REQUEST'],
    ['members add: userId missing', () => post(`/chats/${chat.id}/members`, {}), 400, V],
    ['members add: userId is a number', () => post(`/chats/${chat.id}/members`, { userId: 1 }), 400, V],
    ['members add: bad chat id', () => post('/chats/nope/members', { userId: u.id }), 400, V],
    ['members remove: bad user id', () => ({ method: 'DELETE', url: `/chats/${chat.id}/members/nope`, headers: u.headers }), 400, V],
    // /messages
    ['message: chatId missing', () => post('/messages', { text: 'x' }), 400, V],
    ['message: chatId bad', () => post('/messages', { chatId: 'x', text: 'x' }), 400, V],
    ['message: chatId a number', () => post('/messages', { chatId: 5, text: 'x' }), 400, V],
    ['message: text missing', () => post('/messages', { chatId: chat.id }), 400, V],
    ['message: text empty', () => post('/messages', { chatId: chat.id, text: '' }), 400, V],
    ['message: text only whitespace', () => post('/messages', { chatId: chat.id, text: ' \n\t ' }), 400, V],
    ['message: text too long', () => post('/messages', { chatId: chat.id, text: 'x'.repeat(4001) }), 400, V],
    ['message: text an object', () => post('/messages', { chatId: chat.id, text: { toString: 'x' } }), 400, V],
    ['message: unknown chat', () => post('/messages', { chatId: MISSING_ID, text: 'x' }), 404, 'NOT_FOUND'],
    ['messages list: chatId missing', () => get('/messages'), 400, V],
    ['messages list: chatId bad', () => get('/messages?chatId=abc'), 400, V],
    ['messages list: chatId twice', () => get(`/messages?chatId=${chat.id}&chatId=${chat.id}`), 400, V],
    ['messages list: limit 0', () => get(`/messages?chatId=${chat.id}&limit=0`), 400, V],
    ['messages list: limit 101', () => get(`/messages?chatId=${chat.id}&limit=101`), 400, V],
    ['messages list: limit empty', () => get(`/messages?chatId=${chat.id}&limit=`), 400, V],
    ['messages list: garbage cursor', () => get(`/messages?chatId=${chat.id}&cursor=***`), 400, 'BAD_REQUEST'],
    ['messages list: cursor too long', () => get(`/messages?chatId=${chat.id}&cursor=${'a'.repeat(4097)}`), 400, V],
    ['messages list: cursor of another list', () => get(`/messages?chatId=${chat.id}&cursor=${forgedCursor('username,id', ['a', MISSING_ID])}`), 400, 'BAD_REQUEST'],
    ['messages list: forged cursor with a bad timestamp', () => get(`/messages?chatId=${chat.id}&cursor=${forgedCursor('-createdAt,-id', ['not a time', MISSING_ID])}`), 400, 'BAD_REQUEST'],
    ['messages list: forged cursor with a bad id', () => get(`/messages?chatId=${chat.id}&cursor=${forgedCursor('-createdAt,-id', ['2024-01-01T00:00:00Z', 'not-a-uuid'])}`), 400, 'BAD_REQUEST'],
    ['messages list: after is not a uuid', () => get(`/messages?chatId=${chat.id}&after=1`), 400, V],
    ['message get: bad id', () => get('/messages/1'), 400, V],
    ['message patch: bad id', () => patch('/messages/1', { text: 'x' }), 400, V],
    ['message patch: text missing', () => patch(`/messages/${message.id}`, {}), 400, V],
    ['message patch: text too long', () => patch(`/messages/${message.id}`, { text: 'x'.repeat(4001) }), 400, V],
    ['message delete: bad id', () => ({ method: 'DELETE', url: '/messages/%00', headers: u.headers }), 400, V],
    // Bodies that are not JSON objects at all
    ['malformed JSON', () => raw('POST', '/chats', 'application/json', '{"name": "x",'), 400],
    ['JSON with a __proto__ key', () => raw('POST', '/chats', 'application/json', '{"name":"x","__proto__":{"isGroup":true}}'), 400],
    ['empty JSON body', () => raw('POST', '/messages', 'application/json', ''), 400],
    ['unsupported content type', () => raw('POST', '/messages', 'application/xml', `<message chatId="${MISSING_ID}">hi</message>`), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a text/plain body', () => raw('POST', '/messages', 'text/plain', `chatId=${chat.id}&text=hi`), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a form body on a JSON route', () => raw('POST', '/chats', 'application/x-www-form-urlencoded', 'name=formed'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a form body on a JSON patch', () => raw('PATCH', `/chats/${chat.id}`, 'application/x-www-form-urlencoded', 'name=formed'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['JSON in latin1', () => raw('POST', '/messages', 'application/json; charset=iso-8859-1', JSON.stringify({ chatId: chat.id, text: 'caf\xe9' })), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a malformed URL', () => get('/chats/%'), 400, 'BAD_REQUEST'],
    ['a URL over 8192 characters', () => get(`/users?search=${'a'.repeat(9_000)}`), 414, 'URI_TOO_LONG'],
    ['a body over the 64 KiB limit', () => post('/messages', { chatId: chat.id, text: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['a patch over the 64 KiB limit', () => patch(`/messages/${message.id}`, { text: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['an unknown route', () => get('/nothing/here'), 404, 'NOT_FOUND'],
    ['an unknown method on a known path', () => ({ method: 'PUT', url: `/messages/${message.id}`, headers: u.headers, payload: { text: 'x' } }), 405, 'METHOD_NOT_ALLOWED'],
    // Text PostgreSQL cannot store as sent: refused before any SQL, naming the field
    ['message: text with a NUL', () => post('/messages', { chatId: chat.id, text: 'a\u0000b' }), 400, V],
    ['message: text with a lone surrogate', () => post('/messages', { chatId: chat.id, text: 'a\ud800b' }), 400, V],
    ['message patch: text with a NUL', () => patch(`/messages/${message.id}`, { text: '\u0000' }), 400, V],
    ['chats: name with a NUL', () => post('/chats', { name: 'x\u0000' }), 400, V],
    ['chat patch: name with a lone surrogate', () => patch(`/chats/${chat.id}`, { name: '\udc00x' }), 400, V],
    ['users: search with a NUL', () => get('/users?search=a%00'), 400, V],
    ['register: username with a NUL', () => post('/auth/register', { ...good, username: 'nul\u0000name' }, false), 400, V],
    ['register: password with a lone surrogate', () => post('/auth/register', { ...good, password: 'long enough \ud800' }, false), 400, V],
    ['login: username with a NUL', () => post('/auth/login', { username: 'a\u0000', password: 'x' }, false), 400, V],
    ['message get: id with a NUL', () => get('/messages/%00'), 400, V],
  ]

  test.each(cases.map(([name, request, status, code]) => [name, status, request, code] as const))('%s → %i', async (_name, status, request, code) => {
    const res = await t.inject(request())
    expect(res.statusCode, res.body).toBeLessThan(500)
    const problem = expectProblem(res, status, code)
    expect(problem.code).toMatch(/^[A-Z_]+$/)
    expect(problem.detail.length).toBeGreaterThan(0)
    // Nothing of PostgreSQL's own wording (`invalid input syntax for type uuid: …`) reaches a client.
    expect(res.body).not.toMatch(/invalid input syntax|for type [a-z]|out of range for|violates .*constraint|relation "/i)
    if (problem.code === 'BAD_REQUEST' && /cursor/.test(_name)) expect(problem.detail).toMatch(/^Invalid cursor/)
    if (problem.code === V) expect(problem.errors.length).toBeGreaterThan(0)
  })

  test('unstorable text is refused naming the field, before any SQL runs', async () => {
    const cases: [InjectOptions, string][] = [
      [post('/messages', { chatId: chat.id, text: 'hello\u0000world' }), 'body.text'],
      [post('/chats', { name: 'ok', memberIds: [], extra: ['\ud83d'] }), 'body.extra.0'],
      [patch(`/chats/${chat.id}`, { name: 'bad\u0000name' }), 'body.name'],
      [get('/users?search=%00'), 'querystring.search'],
      [get(`/chats/${chat.id}%00`), 'params.id'],
      [post('/auth/register', { username: 'x\u0000y', password: good.password }, false), 'body.username'],
    ]
    for (const [request, path] of cases) {
      t.queries.length = 0
      const problem = expectProblem(await t.inject(request), 400, V)
      expect(problem.errors, String(request.url)).toEqual([{ path, message: expect.stringMatching(/NUL|surrogate/) }])
      expect(problem.detail).toContain(path)
      expect(t.queries.map((q) => q.sql).filter((s) => !/^(begin|commit|rollback)/i.test(s)), String(request.url)).toEqual([])
    }
  })

  test('validation problems name each bad field', async () => {
    const res = await t.inject(post('/chats', { name: '', isGroup: 'no', memberIds: ['x'] }))
    const problem = expectProblem(res, 400, V)
    expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.isGroup', 'body.memberIds.0', 'body.name'])
    for (const issue of problem.errors) expect(issue.message).toEqual(expect.any(String))
  })

  test('none of it wrote anything, and the data is intact', async () => {
    expect(await countRows()).toEqual(counts)
    expect((await t.inject(get(`/messages/${message.id}`))).json()).toEqual(message)
    expect((await t.inject(get(`/chats/${chat.id}`))).json()).toEqual(chat)
  })
})
