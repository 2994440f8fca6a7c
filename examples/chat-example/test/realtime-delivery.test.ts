import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { allMessages, call, createChat, ok, postMessage, useRealtimeChat, type Participant } from './support/realtime-app.js'

/** Any message with this text is rejected by a deferred trigger, i.e. when its transaction commits. */
const REJECTED_AT_COMMIT = 'this one fails at commit'

/**
 * Who receives what (chat-api.md, "Real time"), over real sockets against the app of main.ts.
 * Every "receives nothing" is exact: `sync()` waits for a later event on the same connection.
 */
describe.each(dialectsUnderTest())('real-time delivery on %s', (kind) => {
  const chat = useRealtimeChat(kind, {
    // Test database only: the commit of such a message fails after the insert (and its event was queued).
    async prepare(db) {
      await sql`
        create function reject_at_commit() returns trigger language plpgsql as $$
        begin
          raise exception 'rejected at commit' using errcode = 'check_violation';
        end $$`.execute(db)
      await sql`
        create constraint trigger reject_at_commit after insert on messages
        deferrable initially deferred for each row
        when (new.text = ${sql.lit(REJECTED_AT_COMMIT)})
        execute function reject_at_commit()`.execute(db)
    },
  })
  const join = (name: string) => chat.participant(name)

  test('a member receives message.created (data = the message); a non-member connected at the same time receives nothing', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const dave = await join('dave')
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync(), dave.sync()])

    const message = await postMessage(chat.baseUrl, bob, room.id, 'hello alice')
    const [forAlice] = await alice.client.waitUntil((events) => events.length >= 1)
    expect(forAlice).toEqual({ type: 'message.created', data: message })
    expect(message).toMatchObject({ chatId: room.id, senderId: bob.id, text: 'hello alice', editedAt: null })

    expect(await alice.sync()).toEqual([{ type: 'message.created', data: message }])
    expect(await bob.sync()).toEqual([{ type: 'message.created', data: message }])
    expect(await dave.sync()).toEqual([])
  })

  test('a write that rolls back sends nothing: a commit that fails after the insert, and a refused edit', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync()])

    const failed = await call(chat.baseUrl, 'POST', '/messages', { token: bob.token, body: { chatId: room.id, text: REJECTED_AT_COMMIT } })
    // The deferred trigger's check_violation surfaces at COMMIT, mapped like any check violation.
    expect(failed.status).toBe(400)
    const refused = await call(chat.baseUrl, 'PATCH', `/messages/${(await postMessage(chat.baseUrl, alice, room.id, 'mine')).id}`, {
      token: bob.token,
      body: { text: 'not yours' },
    })
    expect(refused.status).toBe(403)

    const aliceSaw = await alice.sync()
    const bobSaw = await bob.sync()
    // Only alice's own message: nothing for the message whose commit failed, nothing for the refused edit.
    expect(aliceSaw.map((e) => [e.type, e.data.text])).toEqual([['message.created', 'mine']])
    expect(bobSaw).toEqual(aliceSaw)
    expect((await allMessages(chat.baseUrl, alice, room.id)).map((m) => m.text)).toEqual(['mine'])
  })

  test('every event type reaches exactly the current members', async () => {
    const alice = await join('alice') // the owner
    const bob = await join('bob')
    const carol = await join('carol') // added later
    const dave = await join('dave') // never a member
    const everyone = [alice, bob, carol, dave]
    const syncAll = async () => Object.fromEntries(await Promise.all(everyone.map(async (p) => [p.username, await p.sync()] as const)))
    const expectReceived = async (expected: Map<Participant, unknown[]>) => {
      const seen = await syncAll()
      for (const person of everyone) expect(seen[person.username], person.username).toEqual(expected.get(person) ?? [])
    }

    // chat.member_added on creation: each initial member learns of their own membership.
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    const members = (await ok(200, chat.baseUrl, 'GET', `/chats/${room.id}/members`, { token: alice.token })).items
    const memberEvent = (userId: string) => ({ type: 'chat.member_added', data: { ...members.find((m: any) => m.userId === userId), chatId: room.id } })
    await expectReceived(new Map([[alice, [memberEvent(alice.id)]], [bob, [memberEvent(bob.id)]]]))

    const posted = await postMessage(chat.baseUrl, bob, room.id, 'first')
    const created = { type: 'message.created', data: posted }
    await expectReceived(new Map([[alice, [created]], [bob, [created]]]))

    const edited = await ok(200, chat.baseUrl, 'PATCH', `/messages/${posted.id}`, { token: bob.token, body: { text: 'first, edited' } })
    expect(edited.editedAt).not.toBeNull()
    const updated = { type: 'message.updated', data: edited }
    await expectReceived(new Map([[alice, [updated]], [bob, [updated]]]))

    const renamed = await ok(200, chat.baseUrl, 'PATCH', `/chats/${room.id}`, { token: alice.token, body: { name: 'renamed' } })
    const chatUpdated = { type: 'chat.updated', data: renamed }
    await expectReceived(new Map([[alice, [chatUpdated]], [bob, [chatUpdated]]]))

    // A new member hears of it at once, with everyone else, and receives the chat's next events.
    const addedCarol = await ok(201, chat.baseUrl, 'POST', `/chats/${room.id}/members`, { token: alice.token, body: { userId: carol.id } })
    const carolAdded = { type: 'chat.member_added', data: { ...addedCarol, chatId: room.id } }
    await expectReceived(new Map([[alice, [carolAdded]], [bob, [carolAdded]], [carol, [carolAdded]]]))
    const welcome = { type: 'message.created', data: await postMessage(chat.baseUrl, bob, room.id, 'welcome carol') }
    await expectReceived(new Map([[alice, [welcome]], [bob, [welcome]], [carol, [welcome]]]))

    // A removed member hears of it, then stops receiving the chat's events, on the same connection.
    await ok(204, chat.baseUrl, 'DELETE', `/chats/${room.id}/members/${bob.id}`, { token: alice.token })
    const bobRemoved = { type: 'chat.member_removed', data: { chatId: room.id, userId: bob.id } }
    await expectReceived(new Map([[alice, [bobRemoved]], [bob, [bobRemoved]], [carol, [bobRemoved]]]))
    const afterBob = { type: 'message.created', data: await postMessage(chat.baseUrl, carol, room.id, 'bob is gone') }
    await expectReceived(new Map([[alice, [afterBob]], [carol, [afterBob]]]))

    // The owner deletes another member's message: message.deleted carries { id, chatId }.
    await ok(204, chat.baseUrl, 'DELETE', `/messages/${afterBob.data.id}`, { token: alice.token })
    const deleted = { type: 'message.deleted', data: { id: afterBob.data.id, chatId: room.id } }
    await expectReceived(new Map([[alice, [deleted]], [carol, [deleted]]]))

    // A member who leaves by themself.
    await ok(204, chat.baseUrl, 'DELETE', `/chats/${room.id}/members/${carol.id}`, { token: carol.token })
    const carolLeft = { type: 'chat.member_removed', data: { chatId: room.id, userId: carol.id } }
    await expectReceived(new Map([[alice, [carolLeft]], [carol, [carolLeft]]]))

    // chat.deleted reaches the members of the moment, and nothing of that chat follows.
    await ok(201, chat.baseUrl, 'POST', `/chats/${room.id}/members`, { token: alice.token, body: { userId: dave.id } })
    await syncAll()
    await ok(204, chat.baseUrl, 'DELETE', `/chats/${room.id}`, { token: alice.token })
    const chatDeleted = { type: 'chat.deleted', data: { id: room.id } }
    await expectReceived(new Map([[alice, [chatDeleted]], [dave, [chatDeleted]]]))
    expect((await call(chat.baseUrl, 'POST', '/messages', { token: alice.token, body: { chatId: room.id, text: 'too late' } })).status).toBe(404)
    await expectReceived(new Map())
  })

  test('every connection of a member receives the event, once each', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync()])
    // bob's second device, authenticated with the bearer subprotocol this time
    const second = await chat.connect({ token: bob.token, via: 'protocol' })
    try {
      const message = await postMessage(chat.baseUrl, alice, room.id, 'to both of bob’s devices')
      await second.waitUntil((events) => events.length >= 1)
      const bobSaw = await bob.sync()
      expect(bobSaw).toEqual([{ type: 'message.created', data: message }])
      // The barrier reached bob's other connection too, right after the one message.
      await second.waitUntil((events) => events.length >= 2)
      expect(second.events[0]).toEqual({ type: 'message.created', data: message })
      expect(second.events[1]!.data.chatId).toBe(bob.barrierChatId)
    } finally {
      await second.close()
    }
  })

  test('after a reconnect, GET /messages?after=<lastSeenId> returns exactly the missed messages, oldest first', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const room = await createChat(chat.baseUrl, alice, 'room', [bob])
    await Promise.all([alice.sync(), bob.sync()])

    const seen = await postMessage(chat.baseUrl, bob, room.id, 'seen live')
    await alice.client.waitUntil((events) => events.some((e) => e.data.id === seen.id))
    const lastSeenId = alice.client.events.filter((e) => e.type === 'message.created').at(-1)!.data.id
    expect(lastSeenId).toBe(seen.id)
    await alice.client.close()

    const missed = []
    for (let i = 1; i <= 5; i++) missed.push(await postMessage(chat.baseUrl, bob, room.id, `missed ${i}`))
    await bob.sync()

    const client = await alice.reconnect()
    const catchUp = await ok(200, chat.baseUrl, 'GET', `/messages?chatId=${room.id}&after=${lastSeenId}`, { token: alice.token })
    expect(catchUp).toEqual({ items: missed, nextCursor: null })
    // The new connection is live again and does not replay what was missed.
    const after = await postMessage(chat.baseUrl, bob, room.id, 'live again')
    expect(await alice.sync()).toEqual([{ type: 'message.created', data: after }])
    expect(client.events).toEqual([])
    // Live, caught up and live again together are the whole chat, in order.
    expect(await allMessages(chat.baseUrl, alice, room.id)).toEqual([seen, ...missed, after])
    // Nothing after the newest message; a message of another chat as anchor is 404, not a silent empty page.
    expect((await ok(200, chat.baseUrl, 'GET', `/messages?chatId=${room.id}&after=${after.id}`, { token: alice.token })).items).toEqual([])
    const foreign = await postMessage(chat.baseUrl, alice, alice.barrierChatId, 'elsewhere')
    expect((await call(chat.baseUrl, 'GET', `/messages?chatId=${room.id}&after=${foreign.id}`, { token: alice.token })).status).toBe(404)
  })
})
