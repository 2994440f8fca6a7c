import { describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { allMessages, createChat, postMessage, useRealtimeChat, type Participant } from './support/realtime-app.js'
import { within } from './support/realtime-client.js'
import { expectDeliveredInChatOrder } from './support/realtime-order.js'

/** Many writers at once, and one reader that stops reading, against one server process. */
describe.each(dialectsUnderTest())('real-time delivery under load on %s', (kind) => {
  const chat = useRealtimeChat(kind)

  test('200 messages posted concurrently by 10 clients reach every member exactly once, in each chat in the chat\'s order', async () => {
    const writers = await Promise.all(Array.from({ length: 10 }, (_, i) => chat.participant(`writer${i}`)))
    const [owner, ...others] = writers as [Participant, ...Participant[]]
    const rooms = [await createChat(chat.baseUrl, owner, 'room A', others), await createChat(chat.baseUrl, owner, 'room B', others)]
    await Promise.all(writers.map((w) => w.sync()))

    const started = Date.now()
    const posted = await Promise.all(
      writers.flatMap((writer, w) =>
        Array.from({ length: 20 }, (_, n) => postMessage(chat.baseUrl, writer, rooms[n % 2].id, `writer ${w} message ${n}`)),
      ),
    )
    expect(posted).toHaveLength(200)
    await Promise.all(writers.map((w) => w.client.waitUntil((events) => events.length >= 200, 30_000)))
    const elapsed = Date.now() - started
    const received = await Promise.all(writers.map((w) => w.sync()))

    const committed = await Promise.all(rooms.map((room) => allMessages(chat.baseUrl, owner, room.id)))
    expect(committed.map((messages) => messages.length)).toEqual([100, 100])
    for (const events of received) expectDeliveredInChatOrder(events, committed)
    expect(elapsed).toBeLessThan(30_000)
  })

  test('a reader that stops reading is disconnected; the others keep receiving promptly', async () => {
    const poster = await chat.participant('poster')
    const slow = await chat.participant('slow')
    const fast = await Promise.all([chat.participant('fast1'), chat.participant('fast2')])
    const room = await createChat(chat.baseUrl, poster, 'busy', [slow, ...fast])
    await Promise.all([poster, slow, ...fast].map((p) => p.sync()))

    const connectionsBefore = chat.app.gateway.connectionCount
    const arrivals = fast.map((p) => {
      const at = new Map<string, number>()
      p.client.ws.on('message', (frame) => at.set((JSON.parse(frame.toString()) as { data: { id: string } }).data.id, Date.now()))
      return at
    })
    slow.client.ws.pause()
    // 4 000 characters of 3 bytes each in UTF-8: the longest message allowed, 12 KB a frame.
    const text = '字'.repeat(4_000)
    const latencies: number[] = []
    let posted = 0
    // Post until the gateway gives up on the slow reader: its send buffer (1 MiB) fills once the
    // kernel's socket buffers have. Meanwhile every message must reach the fast readers at once.
    while (chat.app.gateway.connectionCount === connectionsBefore && posted < 5_000) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, async () => {
          const message = await postMessage(chat.baseUrl, poster, room.id, text)
          return { id: message.id as string, committedAt: Date.now() }
        }),
      )
      posted += batch.length
      await Promise.all(fast.map((p) => p.client.waitUntil((events) => batch.every((m) => events.some((e) => e.data.id === m.id)), 2_000)))
      for (const at of arrivals) for (const m of batch) latencies.push(at.get(m.id)! - m.committedAt)
    }
    expect(chat.app.gateway.connectionCount).toBe(connectionsBefore - 1)

    // Delivery to the others goes on after the drop, too.
    const after = await postMessage(chat.baseUrl, poster, room.id, 'still here')
    for (const p of fast) {
      const ids = (await p.sync()).map((e) => e.data.id)
      expect(ids).toHaveLength(posted + 1)
      expect(new Set(ids).size).toBe(posted + 1)
      expect(ids.at(-1)).toBe(after.id)
    }
    // Measured from the POST's response to the frame's arrival (negative: the frame came first).
    expect(Math.max(...latencies)).toBeLessThan(1_000)

    // The slow client, once it reads again, finds its connection cut short (no close frame: 1006).
    slow.client.ws.resume()
    expect(await within(slow.client.closed, 5_000, 'the slow client sees its connection closed')).toBe(1006)
    const got = slow.client.events.filter((e) => e.type === 'message.created' && e.data.chatId === room.id).length
    expect(got).toBeLessThan(posted)
  })
})
