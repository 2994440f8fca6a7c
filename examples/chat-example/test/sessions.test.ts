import { describe, expect, test } from 'vitest'
import { CloseCode } from 'fastkit'
import { dialectsUnderTest } from 'fastkit/testing'
import { claimsFor, expectProblem, MISSING_ID, signJwt, useChatApp, type TestUser } from './support/chat-app.js'
import { connect, within, type RealtimeClient } from './support/realtime-client.js'

/**
 * Sessions end when they should (API.md, "Sessions"): logout, refresh-token reuse and account
 * deletion refuse the session's access tokens at once, over HTTP and WebSocket.
 */
describe.each(dialectsUnderTest())('sessions on %s', (kind) => {
  const t = useChatApp(kind)

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const me = (token: string) => t.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })
  const login = async (u: TestUser) => {
    const res = await t.inject({ method: 'POST', url: '/auth/login', payload: { username: u.username, password: u.password } })
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { access_token: string; refresh_token: string }
  }
  const refresh = (token: string) => t.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } })

  let baseUrl: string | undefined
  /** The file's app on a real port, for WebSockets (once). */
  async function listening(): Promise<string> {
    baseUrl ??= await t.app.listen({ host: '127.0.0.1', port: 0 })
    return baseUrl
  }
  const sockets: RealtimeClient[] = []
  async function socket(token: string): Promise<RealtimeClient> {
    const client = await connect(await listening(), { token })
    sockets.push(client)
    return client
  }

  test('logout with a refresh token refuses that login’s access token at once; other logins keep working', async () => {
    const u = await t.user('lo')
    const other = await login(u)
    expect((await me(u.accessToken)).statusCode).toBe(200)

    const out = await t.inject({ method: 'POST', url: '/auth/logout', headers: u.headers, payload: { refresh_token: u.refreshToken } })
    expect(out.statusCode).toBe(204)
    expectProblem(await me(u.accessToken), 401, 'UNAUTHORIZED')
    expect((await me(other.access_token)).statusCode).toBe(200)
  })

  test('logout without a refresh token refuses the access tokens of every login of the user', async () => {
    const u = await t.user('all')
    const second = await login(u)
    const rotated = (await refresh(second.refresh_token)).json()
    const bystander = await t.user('by')

    const out = await t.inject({ method: 'POST', url: '/auth/logout', headers: u.headers })
    expect(out.statusCode).toBe(204)
    for (const token of [u.accessToken, second.access_token, rotated.access_token]) expectProblem(await me(token), 401)
    expect((await me(bystander.accessToken)).statusCode).toBe(200)
    // A new login after the logout is a new session.
    expect((await me((await login(u)).access_token)).statusCode).toBe(200)
  })

  test('presenting a rotated refresh token again refuses every access token of that login', async () => {
    const u = await t.user('reuse')
    const other = await login(u)
    const next = (await refresh(u.refreshToken)).json()
    expect((await me(next.access_token)).statusCode).toBe(200)

    expectProblem(await refresh(u.refreshToken), 401)
    expectProblem(await me(next.access_token), 401)
    expectProblem(await me(u.accessToken), 401)
    expect((await me(other.access_token)).statusCode).toBe(200)
  })

  test('an access token whose iat is more than 30 s ahead is refused; within 30 s of skew it is accepted', async () => {
    const u = await t.user('iat')
    const now = Math.floor(Date.now() / 1000)
    const ahead = signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u, { iat: now + 120, exp: now + 900 }), t.config.jwtSecret)
    expectProblem(await me(ahead), 401, 'UNAUTHORIZED')
    const skewed = signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u, { iat: now + 20, exp: now + 900 }), t.config.jwtSecret)
    expect((await me(skewed)).statusCode).toBe(200)
  })

  test('a WebSocket closes with 4003 when its login is logged out, and only that one', async () => {
    const u = await t.user('wslo')
    const other = await login(u)
    const ended = await socket(u.accessToken)
    const kept = await socket(other.access_token)

    expect((await t.inject({ method: 'POST', url: '/auth/logout', headers: u.headers, payload: { refresh_token: u.refreshToken } })).statusCode).toBe(204)
    expect(await within(ended.closed, 2_000, 'the logged-out socket closing')).toBe(CloseCode.SESSION_ENDED)
    // The other login's socket is still open and still served.
    kept.ws.send(JSON.stringify({ type: 'ping' }))
    await kept.waitUntil((events) => events.some((e) => e.type === 'pong'))
    expect(kept.ws.readyState).toBe(kept.ws.OPEN)
  })

  test('a WebSocket closes with 4003 when its login is revoked by refresh-token reuse, or by a logout of every login', async () => {
    const u = await t.user('wsre')
    const other = await login(u)
    const first = await socket(u.accessToken)
    await refresh(u.refreshToken)
    expectProblem(await refresh(u.refreshToken), 401)
    expect(await within(first.closed, 2_000, 'the reused login’s socket closing')).toBe(CloseCode.SESSION_ENDED)

    const second = await socket(other.access_token)
    expect((await t.inject({ method: 'POST', url: '/auth/logout', headers: bearer(other.access_token) })).statusCode).toBe(204)
    expect(await within(second.closed, 2_000, 'the socket closing on logout of every login')).toBe(CloseCode.SESSION_ENDED)
  })

  test('a WebSocket whose access token expires is closed with 4001', async () => {
    const u = await t.user('exp')
    const now = Math.floor(Date.now() / 1000)
    const shortLived = signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(u, { iat: now, exp: now + 2 }), t.config.jwtSecret)
    const client = await socket(shortLived)
    const started = Date.now()
    expect(await within(client.closed, 5_000, 'the expired socket closing')).toBe(CloseCode.TOKEN_EXPIRED)
    expect(Date.now() - started).toBeGreaterThan(500)
  })

  describe('DELETE /auth/me', () => {
    const remove = (u: TestUser, password: string) => t.inject({ method: 'DELETE', url: '/auth/me', headers: u.headers, payload: { password } })

    test('a wrong password is 403 and deletes nothing', async () => {
      const u = await t.user('keep')
      const chat = await t.chat(u)
      expectProblem(await remove(u, `${u.password}x`), 403, 'FORBIDDEN')
      expect((await me(u.accessToken)).statusCode).toBe(200)
      expect((await t.inject({ method: 'GET', url: `/chats/${chat.id}`, headers: u.headers })).statusCode).toBe(200)
      expectProblem(await t.inject({ method: 'DELETE', url: '/auth/me', headers: u.headers, payload: {} }), 400, 'VALIDATION_FAILED')
      expectProblem(await t.inject({ method: 'DELETE', url: '/auth/me', payload: { password: u.password } }), 401)
    })

    test('wrong passwords count against the login throttle: after 5, even the right one is 429 and nothing is deleted', async () => {
      const u = await t.user('guess')
      for (let i = 0; i < 5; i++) expectProblem(await remove(u, `${u.password}${i}`), 403, 'FORBIDDEN')
      const refused = await remove(u, u.password)
      expectProblem(refused, 429, 'RATE_LIMITED')
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
      expect((await me(u.accessToken)).statusCode).toBe(200)
      // The same counter as logins: the username is locked out of /auth/login too.
      expectProblem(await t.inject({ method: 'POST', url: '/auth/login', payload: { username: u.username, password: u.password } }), 429, 'RATE_LIMITED')
    })

    test('204: the account, its memberships and owned chats go; its tokens get 401 everywhere; its sockets close; members hear of it', async () => {
      const gone = await t.user('gone')
      const friend = await t.user('friend')
      const owned = await t.chat(gone, [friend])
      const friends = await t.chat(friend, [gone])
      const kept = await t.message(friend, friends.id, 'from the friend')
      const byGone = await t.message(gone, friends.id, 'from the deleted user')
      await t.message(gone, owned.id)
      const secondLogin = await login(gone)
      const goneSocket = await socket(gone.accessToken)
      const friendSocket = await socket(friend.accessToken)

      const res = await remove(gone, gone.password)
      expect(res.statusCode, res.body).toBe(204)
      expect(res.body).toBe('')

      expect(await within(goneSocket.closed, 2_000, 'the deleted user’s socket closing')).toBe(CloseCode.SESSION_ENDED)
      const events = await friendSocket.waitUntil(
        (all) =>
          all.some((e) => e.type === 'chat.deleted' && e.data.id === owned.id) &&
          all.some((e) => e.type === 'message.deleted' && e.data.id === byGone.id) &&
          all.some((e) => e.type === 'chat.member_removed' && e.data.chatId === friends.id),
      )
      expect(events.find((e) => e.type === 'chat.member_removed')!.data).toEqual({ chatId: friends.id, userId: gone.id })
      expect(events.find((e) => e.type === 'message.deleted')!.data).toEqual({ id: byGone.id, chatId: friends.id })
      expect(events.find((e) => e.type === 'chat.deleted')!.data).toEqual({ id: owned.id })

      // The data: no user, no membership, no owned chat, no message of theirs, no refresh token.
      expect(await t.db.selectFrom('users').select('id').where('id', '=', gone.id).execute()).toEqual([])
      expect(await t.db.selectFrom('chatMembers').select('id').where('userId', '=', gone.id).execute()).toEqual([])
      expect(await t.db.selectFrom('chats').select('id').where('id', '=', owned.id).execute()).toEqual([])
      expect(await t.db.selectFrom('messages').select('id').where('senderId', '=', gone.id).execute()).toEqual([])
      expect(await t.db.selectFrom('refresh_tokens').select('id').where('user_id', '=', gone.id).execute()).toEqual([])
      const page = await t.page<{ id: string }>(friend, `/messages?chatId=${friends.id}`)
      expect(page.items.map((m) => m.id)).toEqual([kept.id])
      const members = await t.page<{ userId: string }>(friend, `/chats/${friends.id}/members`)
      expect(members.items.map((m) => m.userId)).toEqual([friend.id])

      // Every token of the account is refused on every route: 401, never a 400/404 about a missing user.
      for (const token of [gone.accessToken, secondLogin.access_token]) await expectRefusedEverywhere(token, { friend, chatId: friends.id })
      expectProblem(await refresh(secondLogin.refresh_token), 401)
      expect((await me(friend.accessToken)).statusCode).toBe(200)
    })

    test('the OpenAPI document describes it', async () => {
      const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json()
      const operation = doc.paths['/auth/me'].delete
      expect(operation.security).toContainEqual({ bearerAuth: [] })
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['204', '403']))
      expect(JSON.stringify(operation.requestBody)).toContain('password')
    })
  })

  test('a valid token of a user deleted behind the app’s back is 401 on every route, also in an app that never saw that user', async () => {
    const ghost = await t.user('ghost')
    const friend = await t.user('friend')
    const chat = await t.chat(friend, [ghost])
    await t.db.deleteFrom('users').where('id', '=', ghost.id).execute()
    const fresh = await t.build()
    await expectRefusedEverywhere(ghost.accessToken, { friend, chatId: chat.id }, fresh)
    // The same app, which has seen the user before, refuses it too after a while: here at once, as it never cached it.
    const signed = signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor({ id: MISSING_ID, username: 'nobody' }), t.config.jwtSecret)
    await expectRefusedEverywhere(signed, { friend, chatId: chat.id }, fresh)
  })

  /** `token` gets 401 on a read, a write with the user as foreign key, and the account routes. */
  async function expectRefusedEverywhere(token: string, ctx: { friend: TestUser; chatId: string }, app = t.app): Promise<void> {
    const requests = [
      { method: 'GET', url: '/auth/me' },
      { method: 'POST', url: '/auth/protected' },
      { method: 'GET', url: '/chats' },
      { method: 'POST', url: '/chats', payload: { name: 'after deletion', memberIds: [ctx.friend.id] } },
      { method: 'GET', url: `/chats/${ctx.chatId}` },
      { method: 'POST', url: '/messages', payload: { chatId: ctx.chatId, text: 'after deletion' } },
      { method: 'GET', url: `/messages?chatId=${ctx.chatId}` },
      { method: 'GET', url: `/users/${ctx.friend.id}` },
      { method: 'GET', url: '/users?search=a' },
      { method: 'POST', url: '/auth/logout', payload: {} },
      { method: 'DELETE', url: '/auth/me', payload: { password: 'whatever-it-was' } },
    ] as const
    for (const request of requests) {
      const res = await app.inject({ ...request, headers: bearer(token) } as never)
      expect(res.statusCode, `${request.method} ${request.url}: ${res.body}`).toBe(401)
    }
  }
})
