import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { dialectsUnderTest, testRedisUrl } from 'fastkit/testing'
import { allMessages, createChat, postMessage, type Participant } from './support/realtime-app.js'
import { expectDeliveredInChatOrder } from './support/realtime-order.js'
import { useChatProcesses } from './support/realtime-processes.js'

const REDIS_URL = testRedisUrl()

// The Redis run needs TEST_REDIS_URL (CI sets it; the test run says when it is missing).
const transports: (readonly [string, Record<string, string>])[] = [
  ['PostgreSQL LISTEN/NOTIFY', {}],
  ...(REDIS_URL ? [['Redis pub/sub', { REDIS_URL }] as const] : []),
]

// Several processes need a database server they can share: PGlite belongs to one process. So this
// suite is registered only when PostgreSQL is under test (never skipped: absent otherwise).
if (dialectsUnderTest().includes('postgres')) {
  describe.each(transports)('two chat server processes on one PostgreSQL, events carried by %s', (transport, env) => {
    const chat = useChatProcesses(env)

    test('the transport in use is the expected one', async () => {
      // The PostgreSQL transport holds a LISTEN connection per process on this database; with
      // REDIS_URL set there are none.
      const listeners = await sql<{ count: number }>`
        select count(*)::int as count from pg_stat_activity
        where datname = current_database() and application_name = 'fastkit-events' and query ilike 'LISTEN%'`.execute(chat.t.db)
      expect(listeners.rows[0]!.count).toBe('REDIS_URL' in env ? 0 : 2)
    })

    test('a client on process B receives a message posted through process A, once; and the other way round', async () => {
      const alice = await chat.participant('alice') // connected to A
      const bob = await chat.participant('bob', chat.b) // connected to B
      const room = await createChat(chat.a.baseUrl, alice, 'across processes', [bob])
      await Promise.all([alice.sync(), bob.sync()])

      const fromA = await postMessage(chat.a.baseUrl, alice, room.id, 'posted through A')
      const [first] = await bob.client.waitUntil((events) => events.length >= 1, 5_000)
      expect(first).toEqual({ type: 'message.created', data: fromA })
      // Barriers posted through A travel the same road after the message: nothing else came, no repeat.
      expect(await bob.sync(chat.a.baseUrl)).toEqual([{ type: 'message.created', data: fromA }])
      expect(await alice.sync(chat.a.baseUrl)).toEqual([{ type: 'message.created', data: fromA }])

      const fromB = await postMessage(chat.b.baseUrl, bob, room.id, 'posted through B')
      expect(await alice.sync(chat.b.baseUrl)).toEqual([{ type: 'message.created', data: fromB }])
      expect(await bob.sync(chat.b.baseUrl)).toEqual([{ type: 'message.created', data: fromB }])
      // Nothing arrived after the barriers either.
      expect(alice.client.events).toEqual([])
      expect(bob.client.events).toEqual([])
    })

    test('membership changes made through one process take effect at once on the other', async () => {
      const owner = await chat.participant('owner')
      const carol = await chat.participant('carol', chat.b)
      const room = await createChat(chat.a.baseUrl, owner, 'membership')
      await Promise.all([owner.sync(), carol.sync()])

      const before = await postMessage(chat.a.baseUrl, owner, room.id, 'before carol')
      expect(await carol.sync(chat.a.baseUrl)).toEqual([])

      const added = await fetch(`${chat.a.baseUrl}/chats/${room.id}/members`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: carol.id }),
      })
      expect(added.status).toBe(201)
      const welcome = await postMessage(chat.a.baseUrl, owner, room.id, 'welcome carol')
      expect((await carol.sync(chat.a.baseUrl)).map((e) => [e.type, e.data.text ?? e.data.userId])).toEqual([
        ['chat.member_added', carol.id],
        ['message.created', 'welcome carol'],
      ])

      const removed = await fetch(`${chat.a.baseUrl}/chats/${room.id}/members/${carol.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${owner.token}` },
      })
      expect(removed.status).toBe(204)
      await postMessage(chat.a.baseUrl, owner, room.id, 'carol is gone')
      expect(await carol.sync(chat.a.baseUrl)).toEqual([{ type: 'chat.member_removed', data: { chatId: room.id, userId: carol.id } }])
      expect(before.id).not.toBe(welcome.id)
    })

    /*
     * Each process's message feed reads the messages from the table once they settle, in the chat's
     * order (the catch-up's), whichever process they were posted through: PostgreSQL or Redis carries
     * only the wake-up. So every member receives each chat's messages in that one order.
     */
    test('200 messages posted concurrently by 10 clients on both processes reach every member exactly once, in the chat\'s order', async () => {
      const servers = [chat.a, chat.b]
      // Writers alternate between the processes, for their connection and for their posts.
      const writers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => chat.participant(`writer${i}`, servers[i % 2]!)),
      )
      const [owner, ...others] = writers as [Participant, ...Participant[]]
      const rooms = [await createChat(chat.a.baseUrl, owner, 'room A', others), await createChat(chat.a.baseUrl, owner, 'room B', others)]
      await Promise.all(writers.map((w) => w.sync(chat.a.baseUrl)))

      const origin = new Map<string, string>()
      const posted = await Promise.all(
        writers.flatMap((writer, w) =>
          Array.from({ length: 20 }, async (_, n) => {
            const through = (w + n) % 2 === 0 ? 'A' : 'B'
            const message = await postMessage((through === 'A' ? chat.a : chat.b).baseUrl, writer, rooms[n % 2].id, `writer ${w} message ${n}`)
            origin.set(message.id, through)
            return message
          }),
        ),
      )
      expect(posted).toHaveLength(200)
      await Promise.all(writers.map((w) => w.client.waitUntil((events) => events.length >= 200, 30_000)))
      // Once everything arrived, barriers through both processes show that nothing more (no repeat) follows.
      const received = await Promise.all(writers.map(async (w) => [...(await w.sync(chat.a.baseUrl)), ...(await w.sync(chat.b.baseUrl))]))

      const committed = await Promise.all(rooms.map((room) => allMessages(chat.a.baseUrl, owner, room.id)))
      expect(committed.map((messages) => messages.length)).toEqual([100, 100])
      // Both processes carried a share of the posts (and of the connections).
      expect(new Set(origin.values())).toEqual(new Set(['A', 'B']))
      for (const events of received) expectDeliveredInChatOrder(events, committed)
    })
  })
}
