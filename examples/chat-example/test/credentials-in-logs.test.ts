import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { captureLog, uniqueName, useChatApp } from './support/chat-app.js'
import { connect, refusedUpgrade } from './support/realtime-client.js'

/** No token, access or refresh, ever reaches a log line, at any level (issue 10 §6). */
describe.each(dialectsUnderTest())('credentials in logs on %s', (kind) => {
  const t = useChatApp(kind)

  test('the auth and WebSocket flows at trace level write none of the tokens they issued', async () => {
    const { stream, lines } = captureLog()
    const app = await t.build({ fastify: { logger: { level: 'trace', stream } } })
    const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    const tokens: string[] = []
    const post = async (url: string, payload: object | undefined, headers: Record<string, string> = {}) => {
      const res = await app.inject({ method: 'POST', url, ...(payload ? { payload } : {}), headers })
      const body = String(res.headers['content-type'] ?? '').includes('json') ? res.json() : {}
      for (const key of ['access_token', 'refresh_token'] as const) if (typeof body[key] === 'string') tokens.push(body[key])
      return { status: res.statusCode, body }
    }
    const username = uniqueName('logs')
    const password = `pw-${randomBytes(8).toString('hex')}`
    expect((await post('/auth/register', { username, password })).status).toBe(201)
    const first = (await post('/auth/login', { username, password })).body
    const form = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=password&username=${username}&password=${password}`,
    })
    tokens.push(form.json().access_token, form.json().refresh_token)
    const auth = (token: string) => ({ authorization: `Bearer ${token}` })

    // Authenticated routes, good and bad headers.
    expect((await app.inject({ method: 'GET', url: '/auth/me', headers: auth(first.access_token) })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/chats', headers: { authorization: `Bearer ${first.access_token}x` } })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/chats', headers: { authorization: `Token ${first.access_token}` } })).statusCode).toBe(401)
    // A token in the query of an ordinary route is redacted as well (the route refuses the unknown parameter).
    expect((await app.inject({ method: 'GET', url: `/chats?token=${first.access_token}`, headers: auth(first.access_token) })).statusCode).toBe(400)

    // Refresh: rotation, a malformed body, reuse.
    const rotated = (await post('/auth/refresh', { refresh_token: first.refresh_token })).body
    expect(rotated.access_token).toEqual(expect.any(String))
    expect((await post('/auth/refresh', { refresh_token: `${first.refresh_token}${'x'.repeat(600)}` })).status).toBe(400)

    // WebSockets: token in the query and in the subprotocol; a refused upgrade too.
    const viaQuery = await connect(baseUrl, { token: form.json().access_token })
    const viaProtocol = await connect(baseUrl, { token: form.json().access_token, via: 'protocol' })
    expect((await refusedUpgrade(baseUrl, { token: `${first.access_token}x` })).status).toBe(401)
    expect((await refusedUpgrade(baseUrl, { token: rotated.access_token.split('.').reverse().join('.') })).status).toBe(401)

    expect((await post('/auth/refresh', { refresh_token: first.refresh_token })).status).toBe(401) // reuse: revokes that login
    expect((await post('/auth/logout', { refresh_token: form.json().refresh_token }, auth(form.json().access_token))).status).toBe(204)
    await viaQuery.closed
    await viaProtocol.closed
    const again = (await post('/auth/login', { username, password })).body
    expect((await post('/auth/logout', undefined, auth(again.access_token))).status).toBe(204)
    const last = (await post('/auth/login', { username, password })).body
    expect((await app.inject({ method: 'DELETE', url: '/auth/me', headers: auth(last.access_token), payload: { password: 'wrong password' } })).statusCode).toBe(403)
    expect((await app.inject({ method: 'DELETE', url: '/auth/me', headers: auth(last.access_token), payload: { password } })).statusCode).toBe(204)
    await app.close()

    expect(tokens.length).toBeGreaterThanOrEqual(10)
    const output = lines.join('')
    expect(lines.length).toBeGreaterThan(30)
    // The requests were logged, with the query credential redacted.
    expect(output).toContain('/ws?token=[redacted]')
    expect(output).toContain('/chats?token=[redacted]')
    for (const token of new Set(tokens)) {
      // The whole token, and its signature alone (what makes it a credential).
      expect(output.includes(token), `a log line carried ${token}`).toBe(false)
      const signature = token.split('.')[2]
      if (signature) expect(output.includes(signature), `a log line carried the signature of ${token}`).toBe(false)
    }
    expect(output.includes(password)).toBe(false)
  })
})
