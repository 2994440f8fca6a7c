import { beforeAll, describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { createChat, postMessage, signUp, TEST_JWT_SECRET, useRealtimeChat, type TestUser } from './support/realtime-app.js'
import { chatClaims, refusedUpgrade, signJwt } from './support/realtime-client.js'

/** `/ws` authentication (chat-api.md: `?token=` or `bearer, <token>`, else 401) and ping/pong, over real sockets. */
describe.each(dialectsUnderTest())('the /ws gateway on %s', (kind) => {
  const chat = useRealtimeChat(kind)
  let alice: TestUser
  beforeAll(async () => {
    alice = await signUp(chat.baseUrl, 'alice')
  })

  test.each(['query', 'protocol'] as const)('a token from /auth/login works as %s, and the connection receives its events', async (via) => {
    const client = await chat.connect({ token: alice.token, via })
    // With the subprotocol pair the server answers `bearer`, never echoing the token.
    expect(client.ws.protocol).toBe(via === 'protocol' ? 'bearer' : '')
    const room = await createChat(chat.baseUrl, alice, `room via ${via}`)
    const message = await postMessage(chat.baseUrl, alice, room.id, `sent to a ${via} connection`)
    await client.waitUntil((events) => events.some((e) => e.type === 'message.created' && e.data.id === message.id))
    expect(client.events.find((e) => e.type === 'message.created')).toEqual({ type: 'message.created', data: message })
  })

  test('{"type":"ping"} gets {"type":"pong"}', async () => {
    const client = await chat.connect({ token: alice.token })
    client.ws.send(JSON.stringify({ type: 'ping' }))
    await client.waitUntil((events) => events.length >= 1)
    expect(client.events).toEqual([{ type: 'pong' }])
    client.ws.send(JSON.stringify({ type: 'ping' }))
    await client.waitUntil((events) => events.length >= 2)
    expect(client.events).toEqual([{ type: 'pong' }, { type: 'pong' }])
  })

  const refusals: [string, (user: TestUser) => { token?: string; via?: 'query' | 'protocol' }][] = [
    ['no token', () => ({})],
    ['an empty ?token=', () => ({ token: '' })],
    ['a garbage token', () => ({ token: 'not-a-jwt' })],
    ['a garbage token as subprotocol', () => ({ token: 'not.a.jwt', via: 'protocol' })],
    ['a tampered token', (user) => ({ token: `${user.token.slice(0, -4)}${user.token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}` })],
    ['a token signed with another secret', (user) => ({ token: signJwt('another-secret-of-at-least-32-characters!', chatClaims(user, 600)) })],
    ['an expired token', (user) => ({ token: signJwt(TEST_JWT_SECRET, chatClaims(user, -60)) })],
    ['an expired token as subprotocol', (user) => ({ token: signJwt(TEST_JWT_SECRET, chatClaims(user, -60)), via: 'protocol' })],
  ]

  test.each(refusals)('%s: the upgrade is refused with 401 problem+json', async (_name, make) => {
    const refused = await refusedUpgrade(chat.baseUrl, make(alice))
    expect(refused.status).toBe(401)
    expect(refused.contentType).toContain('application/problem+json')
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' })
  })

  test('a well-formed token of the right secret is accepted (the expired-token case fails on exp alone)', async () => {
    const client = await chat.connect({ token: signJwt(TEST_JWT_SECRET, chatClaims(alice, 600)) })
    client.ws.send(JSON.stringify({ type: 'ping' }))
    await client.waitUntil((events) => events.some((e) => e.type === 'pong'))
    expect(client.events).toEqual([{ type: 'pong' }])
  })

  test('a refused client receives nothing: its user’s events go only to accepted connections', async () => {
    const bob = await chat.participant('bob')
    const expired = signJwt(TEST_JWT_SECRET, chatClaims(bob, -1))
    expect((await refusedUpgrade(chat.baseUrl, { token: expired })).status).toBe(401)
    const room = await createChat(chat.baseUrl, alice, 'with bob', [bob])
    const message = await postMessage(chat.baseUrl, alice, room.id, 'for bob')
    expect((await bob.sync()).map((e) => e.type)).toEqual(['chat.member_added', 'message.created'])
    expect(chat.app.gateway.connectionCount).toBe(chat.clients.filter((c) => c.ws.readyState === c.ws.OPEN).length)
    expect(message.chatId).toBe(room.id)
  })
})
