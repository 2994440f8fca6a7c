import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { CamelCasePlugin, type Kysely, type LogConfig } from 'kysely'
import { afterAll, beforeAll } from 'vitest'
import type { DatabaseKind } from 'fastkit'
import { createTestDatabase, takeUntilBarrier, type TestDatabase } from 'fastkit/testing'
import { buildApp } from '../../src/app.js'
import type { ChatConfig } from '../../src/config.js'
import { migrationsFolder } from '../../src/db/database.js'
import type { DB } from '../../src/db/schema.js'
import { connect, type ConnectOptions, type RealtimeClient, type ReceivedEvent } from './realtime-client.js'

/** The JWT secret of every server in the realtime tests (in-process and spawned alike). */
export const TEST_JWT_SECRET = 'realtime-tests-secret-0123456789-abcdefghijklmnop'

/** A fresh, migrated database for one test file (camelCase plugin, as the app uses it). */
export function createChatDatabase(kind: DatabaseKind, options: { log?: LogConfig } = {}): Promise<TestDatabase<DB>> {
  return createTestDatabase<DB>(kind, {
    migrations: { folder: migrationsFolder },
    database: { plugins: [new CamelCasePlugin()], ...options },
  })
}

/** The chat app of `main.ts`, built on a test database and listening on a real port of 127.0.0.1. */
export interface RunningChat {
  readonly app: FastifyInstance
  readonly baseUrl: string
  close(): Promise<void>
}

export async function startChatApp(t: TestDatabase<DB>): Promise<RunningChat> {
  const config: ChatConfig = {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: t.url,
    dataDir: tmpdir(),
    redisUrl: undefined,
    jwtSecret: TEST_JWT_SECRET,
    jwtSecretSource: 'env',
    production: false,
    allowedOrigins: [],
  }
  // The transport is what main.ts would pick for this URL: LISTEN/NOTIFY on PostgreSQL, memory on PGlite.
  const app = await buildApp({ config, db: t.db, fastify: { logger: { level: process.env.LOG_LEVEL ?? 'warn' } } })
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, baseUrl, close: () => app.close() }
}

export interface ApiResponse<T = any> {
  readonly status: number
  readonly body: T
}

/** One HTTP request to a running server, over a real socket, with a bounded wait. */
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {}
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  })
  const text = await response.text()
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T }
}

/** Like {@link call}, but throws unless the status is `expected`; returns the body. */
export async function ok<T = any>(expected: number, ...args: Parameters<typeof call>): Promise<T> {
  const response = await call<T>(...args)
  if (response.status !== expected) {
    throw new Error(`${args[1]} ${args[2]}: expected ${expected}, got ${response.status} ${JSON.stringify(response.body)}`)
  }
  return response.body
}

/** A registered, logged-in user (token from `POST /auth/login`). */
export interface TestUser {
  readonly id: string
  readonly username: string
  readonly token: string
}

/** Registers `name` (made unique) and logs in, both over HTTP. */
export async function signUp(baseUrl: string, name: string): Promise<TestUser> {
  const username = `${name}_${randomBytes(3).toString('hex')}`
  const password = 'correct horse battery staple'
  const user = await ok<{ id: string }>(201, baseUrl, 'POST', '/auth/register', { body: { username, password } })
  const tokens = await ok<{ access_token: string }>(200, baseUrl, 'POST', '/auth/login', { body: { username, password } })
  return { id: user.id, username, token: tokens.access_token }
}

export async function createChat(baseUrl: string, owner: TestUser, name: string, members: readonly TestUser[] = []): Promise<any> {
  return ok(201, baseUrl, 'POST', '/chats', { token: owner.token, body: { name, isGroup: true, memberIds: members.map((m) => m.id) } })
}

export async function postMessage(baseUrl: string, sender: TestUser, chatId: string, text: string): Promise<any> {
  return ok(201, baseUrl, 'POST', '/messages', { token: sender.token, body: { chatId, text } })
}

/** Every message of a chat, oldest first, following `GET /messages` pages (newest first) to the end. */
export async function allMessages(baseUrl: string, user: TestUser, chatId: string): Promise<any[]> {
  const items: any[] = []
  let cursor: string | null = null
  do {
    const query: string = `/messages?chatId=${chatId}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const page: { items: any[]; nextCursor: string | null } = await ok(200, baseUrl, 'GET', query, { token: user.token })
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return items.reverse()
}

/**
 * A user with a live connection and a private "barrier" chat of their own. {@link Participant.sync}
 * posts to that chat and waits for the echo (fastkit/testing's `takeUntilBarrier`): events reach one
 * connection in the order they were published, so once the barrier arrives, anything published
 * before it has arrived too. That makes "received nothing" an exact assertion instead of a sleep.
 */
export interface Participant extends TestUser {
  client: RealtimeClient
  readonly barrierChatId: string
  /** Events received since the last `sync` (barriers excluded). */
  sync(baseUrl?: string): Promise<ReceivedEvent[]>
  /** Reconnects (after a `client.close()`), keeping the same barrier chat. */
  reconnect(baseUrl?: string, options?: Omit<ConnectOptions, 'token'>): Promise<RealtimeClient>
}

export async function participant(baseUrl: string, name: string, wsBaseUrl = baseUrl): Promise<Participant> {
  const user = await signUp(baseUrl, name)
  const barrierChat = await createChat(baseUrl, user, `${name} barrier`)
  const self: Participant = {
    ...user,
    barrierChatId: barrierChat.id,
    client: await connect(wsBaseUrl, { token: user.token }),
    async sync(via = baseUrl) {
      const taken = await takeUntilBarrier(self.client, async () => {
        const barrier = await postMessage(via, self, barrierChat.id, `barrier ${randomBytes(4).toString('hex')}`)
        return (e: ReceivedEvent) => e.type === 'message.created' && e.data.id === barrier.id
      })
      return taken.filter((e) => e.data?.chatId !== barrierChat.id)
    },
    async reconnect(via = wsBaseUrl, options = {}) {
      self.client = await connect(via, { ...options, token: user.token })
      return self.client
    },
  }
  return self
}

/** The chat app of one test file (see {@link useRealtimeChat}), with the people and sockets its tests open. */
export interface RealtimeChat {
  readonly t: TestDatabase<DB>
  readonly app: FastifyInstance
  readonly baseUrl: string
  /** A {@link participant} on this app; its connection is closed after the file's tests. */
  participant(name: string): Promise<Participant>
  /** A WebSocket to this app; closed after the file's tests. */
  connect(options?: ConnectOptions): Promise<RealtimeClient>
  /** Every connection opened through {@link RealtimeChat.participant} and {@link RealtimeChat.connect} so far. */
  readonly clients: readonly RealtimeClient[]
}

/**
 * The real-time tests' setup: a fresh migrated database on `kind` and the app of main.ts listening on
 * a real port, started before the file's tests; after them every connection opened through
 * {@link RealtimeChat.participant} or {@link RealtimeChat.connect} is closed, then the app and the
 * database. `prepare` runs on the database before the app starts (test-only triggers, say).
 */
export function useRealtimeChat(
  kind: DatabaseKind,
  options: { log?: LogConfig; prepare?: (db: Kysely<DB>) => Promise<void> } = {},
): RealtimeChat {
  let t: TestDatabase<DB> | undefined
  let running: RunningChat | undefined
  const people: Participant[] = []
  const clients: RealtimeClient[] = []
  beforeAll(async () => {
    t = await createChatDatabase(kind, options.log ? { log: options.log } : {})
    await options.prepare?.(t.db)
    running = await startChatApp(t)
  })
  afterAll(async () => {
    for (const client of [...clients, ...people.map((person) => person.client)]) await client.close()
    await running?.close()
    await t?.destroy()
  })
  const started = () => {
    if (!t || !running) throw new Error('useRealtimeChat: the app starts in beforeAll; use it inside tests')
    return { t, running }
  }
  return {
    get t() {
      return started().t
    },
    get app() {
      return started().running.app
    },
    get baseUrl() {
      return started().running.baseUrl
    },
    get clients() {
      return [...clients, ...people.map((person) => person.client)]
    },
    async participant(name) {
      const person = await participant(started().running.baseUrl, name)
      people.push(person)
      return person
    },
    async connect(connectOptions = {}) {
      const client = await connect(started().running.baseUrl, connectOptions)
      clients.push(client)
      return client
    },
  }
}
