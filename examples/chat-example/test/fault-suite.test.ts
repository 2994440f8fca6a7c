import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { CamelCasePlugin, sql, type Kysely } from 'kysely'
import { createDatabase, migrateToLatest, poolStats, type PoolOptions } from 'fastkit'
import { buildApp } from '../src/app.js'
import { migrationsFolder } from '../src/db/database.js'
import type { DB } from '../src/db/schema.js'
import { READY_PROBE_TIMEOUT_MS } from '../src/health.js'
import { createInbox } from 'fastkit/testing'
import { clusterUnavailableReason, createPgCluster, type PgCluster } from './support/pg-cluster.js'
import { createChat, signUp, type TestUser } from './support/realtime-app.js'
import { testConfig } from './support/chat-app.js'

/**
 * The fault suite of issue 11: the chat server on its own throwaway PostgreSQL cluster, under
 * concurrent posting, while the cluster is stopped (fast, immediate) and started, frozen (SIGSTOP) and
 * thawed, and while clients hang up mid-request. What a client may see is 201 or 503, never a 500 and
 * never an unbounded wait; what was acknowledged is kept.
 */

// Short limits so the suite runs in well under a minute and a half; the rules are the same as with the
// defaults. One statement waits at most connectionTimeout + queryTimeout (see the README).
const POOL: PoolOptions = { max: 10, connectionTimeoutMs: 1_000, statementTimeoutMs: 2_000, queryTimeoutMs: 3_000 }
const REQUEST_LIMIT_MS = POOL.connectionTimeoutMs! + POOL.queryTimeoutMs!
const POSTERS = 6

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Outcome {
  readonly text: string
  readonly status: number // 0: no answer (the client gave up)
  readonly started: number
  readonly ended: number
}

/** `POSTERS` clients posting messages back to back (with a breath in between) until stopped. */
class Posting {
  readonly #outcomes = createInbox<Outcome>()
  #running = true
  readonly #workers: Promise<void>[]

  constructor(baseUrl: string, user: TestUser, chatId: string, label: string) {
    this.#workers = Array.from({ length: POSTERS }, async (_, worker) => {
      for (let n = 0; this.#running; n++) {
        const text = `${label}-${worker}-${n}`
        const started = Date.now()
        let status = 0
        try {
          const response = await fetch(`${baseUrl}/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ chatId, text }),
            signal: AbortSignal.timeout(REQUEST_LIMIT_MS + 10_000),
          })
          await response.arrayBuffer()
          status = response.status
        } catch {
          status = 0
        }
        this.#outcomes.push({ text, status, started, ended: Date.now() })
        await sleep(20)
      }
    })
  }

  /** The first 201 that completed after `since`, waiting up to `withinMs` for one. */
  async first201After(since: number, withinMs: number): Promise<Outcome | undefined> {
    const isLater201 = (o: Outcome) => o.status === 201 && o.ended >= since
    // Not there in time: undefined, which the caller's assertion reports with the statuses seen.
    await this.#outcomes.waitUntil((all) => all.some(isLater201), withinMs).catch(() => {})
    return this.#outcomes.events.filter(isLater201).sort((a, b) => a.ended - b.ended)[0]
  }

  async stop(): Promise<Outcome[]> {
    this.#running = false
    await Promise.all(this.#workers)
    return this.#outcomes.events
  }
}

function describeStatuses(outcomes: readonly Outcome[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1
  return counts
}

const unavailable = clusterUnavailableReason()
if (unavailable && process.env.CI !== 'true') {
  console.warn(`\n[chat-example] the fault suite did NOT run: ${unavailable}. CI runs it (and fails without it).\n`)
}

// Without the prerequisites the suite is not registered (and says so above), except in CI.
if (!unavailable || process.env.CI === 'true') describe('fault suite: the chat on its own PostgreSQL cluster, which stops, freezes and loses clients', () => {
  let cluster: PgCluster | undefined
  let db: Kysely<DB>
  let app: FastifyInstance
  let baseUrl: string
  let alice: TestUser
  let bob: TestUser
  let chatId: string
  /** Every message answered 201 during the suite. */
  const acknowledged: string[] = []

  beforeAll(async () => {
    // In CI a missing prerequisite is a failure, not a skip.
    if (unavailable) throw new Error(`the fault suite cannot run: ${unavailable}`)
    cluster = await createPgCluster()
    db = createDatabase<DB>({ url: cluster.url, plugins: [new CamelCasePlugin()], pool: POOL })
    await migrateToLatest(db, { folder: migrationsFolder })
    app = await buildApp({ config: testConfig(cluster.url), db, fastify: { logger: { level: 'fatal' } } })
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    alice = await signUp(baseUrl, 'alice')
    bob = await signUp(baseUrl, 'bob')
    chatId = (await createChat(baseUrl, alice, 'under fire', [bob])).id
  }, 120_000)

  afterAll(async () => {
    await app?.close()
    await db?.destroy()
    await cluster?.destroy()
  })

  /** `/ready` answers 503 (or 200, if `expected`), within 2 s. */
  async function expectReady(expected: 200 | 503): Promise<void> {
    const started = Date.now()
    const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(10_000) })
    await response.arrayBuffer()
    expect(response.status).toBe(expected)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(READY_PROBE_TIMEOUT_MS).toBeLessThan(2_000)
  }

  async function expectAcknowledgedKept(outcomes: readonly Outcome[]): Promise<void> {
    acknowledged.push(...outcomes.filter((o) => o.status === 201).map((o) => o.text))
    const rows = await db.selectFrom('messages').select('text').where('chatId', '=', chatId).execute()
    const stored = new Set(rows.map((r) => r.text))
    expect(acknowledged.filter((text) => !stored.has(text))).toEqual([])
  }

  test.each(['fast', 'immediate'] as const)(
    'stopped (%s) and started again: only 201 and 503, /ready 503 while down, a 201 within 2 s of the restart, nothing acknowledged lost',
    async (mode) => {
      const posting = new Posting(baseUrl, alice, chatId, `stop-${mode}`)
      expect(await posting.first201After(Date.now(), 10_000)).toBeDefined()

      await cluster!.stop(mode)
      const down = Date.now()
      await expectReady(503)
      await sleep(500)
      await expectReady(503)
      await cluster!.start()
      const back = Date.now()

      const first = await posting.first201After(back, 10_000)
      const outcomes = await posting.stop()
      expect(first, `no 201 within 10 s of the restart; statuses ${JSON.stringify(describeStatuses(outcomes))}`).toBeDefined()
      console.info(`[fault suite] stop ${mode}: first 201 ${first!.ended - back} ms after the restart; statuses ${JSON.stringify(describeStatuses(outcomes))}`)
      expect(first!.ended - back).toBeLessThan(2_000)
      expect(outcomes.filter((o) => o.status !== 201 && o.status !== 503)).toEqual([])
      expect(outcomes.some((o) => o.status === 503 && o.started >= down)).toBe(true)
      await expectReady(200)
      await expectAcknowledgedKept(outcomes)
    },
    60_000,
  )

  test(
    'frozen (SIGSTOP) for 15 s and thawed: no request takes longer than its limit + 1 s, /ready 503 meanwhile, then everything recovers',
    async () => {
      const posting = new Posting(baseUrl, alice, chatId, 'freeze')
      expect(await posting.first201After(Date.now(), 10_000)).toBeDefined()

      cluster!.freeze()
      const frozenAt = Date.now()
      try {
        await sleep(500)
        await expectReady(503)
        await sleep(6_000)
        await expectReady(503)
        await sleep(Math.max(0, frozenAt + 15_000 - Date.now()))
      } finally {
        cluster!.thaw()
      }
      const thawed = Date.now()

      const first = await posting.first201After(thawed, 15_000)
      const outcomes = await posting.stop()
      expect(first, `no 201 within 15 s of the thaw; statuses ${JSON.stringify(describeStatuses(outcomes))}`).toBeDefined()
      expect(outcomes.filter((o) => o.status !== 201 && o.status !== 503)).toEqual([])
      const slowest = Math.max(...outcomes.map((o) => o.ended - o.started))
      console.info(
        `[fault suite] freeze: slowest request ${slowest} ms (limit ${REQUEST_LIMIT_MS} ms), first 201 ${first!.ended - thawed} ms after the thaw; statuses ${JSON.stringify(describeStatuses(outcomes))}`,
      )
      expect(slowest).toBeLessThanOrEqual(REQUEST_LIMIT_MS + 1_000)
      expect(outcomes.some((o) => o.status === 503 && o.started >= frozenAt && o.ended <= thawed)).toBe(true)
      await expectReady(200)
      await expectAcknowledgedKept(outcomes)
    },
    90_000,
  )

  test('50 requests aborted mid-flight: no connection leaks, no partial write', async () => {
    const chatsBefore = await db.selectFrom('chats').select('id').execute()
    const aborted = Array.from({ length: 50 }, async (_, i) => {
      const controller = new AbortController()
      // Spread over the request's life: before the body is read, during the handler, around COMMIT.
      setTimeout(() => controller.abort(), i % 25)
      const isChat = i % 2 === 0
      try {
        const response = await fetch(`${baseUrl}${isChat ? '/chats' : '/messages'}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(isChat ? { name: `aborted ${i}`, isGroup: true, memberIds: [bob.id] } : { chatId, text: `aborted-${i}` }),
          signal: controller.signal,
        })
        await response.arrayBuffer()
        return response.status
      } catch {
        return 0
      }
    })
    const statuses = await Promise.all(aborted)
    expect(statuses.filter((s) => s !== 0 && s !== 201)).toEqual([])

    // Every checked-out connection comes back: nothing waits, nothing stays checked out.
    const deadline = Date.now() + 10_000
    let stats = poolStats(db)!
    while ((stats.idle !== stats.total || stats.waiting !== 0) && Date.now() < deadline) {
      await sleep(100)
      stats = poolStats(db)!
    }
    expect(stats.waiting).toBe(0)
    expect(stats.idle).toBe(stats.total)
    expect(stats.total).toBeLessThanOrEqual(POOL.max!)
    const open = await sql<{ state: string; count: number }>`
      select state, count(*)::int as count from pg_stat_activity
      where backend_type = 'client backend' and application_name = 'fastkit' and pid <> pg_backend_pid()
        and state <> 'idle' group by state`.execute(db)
    expect(open.rows).toEqual([])

    // All or nothing: each new chat has its owner and its member; no membership without its chat.
    const newChats = await db
      .selectFrom('chats')
      .select(['id', (eb) => eb.selectFrom('chatMembers').select((e) => e.fn.countAll<number>().as('n')).whereRef('chatMembers.chatId', '=', 'chats.id').as('members')])
      .where('id', 'not in', chatsBefore.length ? chatsBefore.map((c) => c.id) : ['00000000-0000-0000-0000-000000000000'])
      .execute()
    expect(newChats.filter((c) => Number(c.members) !== 2)).toEqual([])
    expect(newChats.length).toBeGreaterThanOrEqual(statuses.filter((s, i) => s === 201 && i % 2 === 0).length)

    // The server still serves.
    const response = await fetch(`${baseUrl}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ chatId, text: 'after the aborts' }),
    })
    expect(response.status).toBe(201)
  })
})
