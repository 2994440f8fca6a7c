import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { CamelCasePlugin, sql, type Kysely, type LogEvent } from 'kysely'
import { afterAll, beforeAll, expect } from 'vitest'
import type { DatabaseKind } from 'fastkit'
import { createTestDatabase, type TestDatabase } from 'fastkit/testing'
import { buildApp, type BuildAppOptions } from '../../src/app.js'
import type { ChatConfig } from '../../src/config.js'
import type { DB } from '../../src/db/schema.js'

/** The chat's migrations, as the app runs them. */
export const migrationsFolder = new URL('../../migrations/', import.meta.url)

/** The issuer and audience app.ts signs into every access token. */
export const ISSUER = 'chat-example'
export const AUDIENCE = 'chat-example-api'

/** A statement the database ran, with its parameters (to EXPLAIN exactly what a request sent). */
export interface LoggedQuery {
  readonly sql: string
  readonly parameters: readonly unknown[]
}

/** A registered, logged-in user: `headers` authenticate a request as them. */
export interface TestUser {
  readonly id: string
  readonly username: string
  readonly password: string
  readonly accessToken: string
  readonly refreshToken: string
  readonly headers: { authorization: string }
}

export interface ChatJson {
  id: string
  name: string
  isGroup: boolean
  ownerId: string
  createdAt: string
  updatedAt: string
}

export interface MessageJson {
  id: string
  chatId: string
  senderId: string
  text: string
  createdAt: string
  updatedAt: string
  editedAt: string | null
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

/** The config a test app runs with: a fixed 48-character secret and the test database's URL. */
export function testConfig(databaseUrl: string): ChatConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl,
    dataDir: tmpdir(),
    redisUrl: undefined,
    jwtSecret: randomBytes(36).toString('base64url'),
    jwtSecretSource: 'env',
    production: false,
    allowedOrigins: [],
  }
}

/** A username that no other test picks: `prefix` plus random hex, within the 32-character limit. */
export function uniqueName(prefix = 'u'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`.slice(0, 32)
}

/** A well-formed UUID that no row has. */
export const MISSING_ID = '00000000-0000-4000-8000-000000000000'

/**
 * The lifecycle of one chat test file on one dialect: a migrated database and the chat app over it
 * (beforeAll), both closed at the end. Tests isolate themselves by creating fresh users and chats,
 * never by truncating. Every response body of every app built here is kept in `bodies`, and the
 * file fails if one of them carries a password hash.
 */
export function useChatApp(kind: DatabaseKind, options: Partial<Omit<BuildAppOptions, 'config' | 'db'>> = {}) {
  const queries: LoggedQuery[] = []
  const bodies: string[] = []
  const apps: FastifyInstance[] = []
  const state: { t?: TestDatabase<DB>; app?: FastifyInstance; config?: ChatConfig } = {}

  /** Builds a chat app over this file's database (closed in afterAll), recording its response bodies. */
  async function build(overrides: Partial<Omit<BuildAppOptions, 'db'>> = {}): Promise<FastifyInstance> {
    const app = await buildApp({
      config: state.config!,
      db: state.t!.db,
      // Generous per-address limits: every injected request comes from 127.0.0.1.
      loginThrottle: { perAddress: { limit: 10_000, windowSeconds: 60 } },
      registrationThrottle: { perAddress: { limit: 10_000, windowSeconds: 60 } },
      ...options,
      ...overrides,
    })
    app.addHook('onSend', async (_request, _reply, payload) => {
      if (typeof payload === 'string') bodies.push(payload)
      else if (Buffer.isBuffer(payload)) bodies.push(payload.toString('utf8'))
      return payload
    })
    apps.push(app)
    await app.ready()
    return app
  }

  beforeAll(async () => {
    state.t = await createTestDatabase<DB>(kind, {
      migrations: { folder: migrationsFolder },
      database: {
        plugins: [new CamelCasePlugin()],
        log: (event: LogEvent) => {
          if (event.level === 'query') queries.push({ sql: event.query.sql, parameters: event.query.parameters })
        },
      },
    })
    state.config = testConfig(state.t.url)
    state.app = await build()
  })

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close()
    await state.t?.destroy()
    const leaked = bodies.filter((body) => body.includes('$argon2'))
    expect(leaked, 'a response body carried a password hash').toEqual([])
  })

  const inject = (request: InjectOptions | string): Promise<LightMyRequestResponse> => state.app!.inject(request)

  /** Registers a fresh user and logs them in. */
  async function user(prefix = 'u', app: FastifyInstance = state.app!): Promise<TestUser> {
    const username = uniqueName(prefix)
    const password = `pw-${randomBytes(8).toString('hex')}`
    const registered = await app.inject({ method: 'POST', url: '/auth/register', payload: { username, password } })
    expect(registered.statusCode, registered.body).toBe(201)
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } })
    expect(login.statusCode, login.body).toBe(200)
    const tokens = login.json()
    return {
      id: registered.json().id,
      username,
      password,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      headers: { authorization: `Bearer ${tokens.access_token}` },
    }
  }

  /** Creates a chat owned by `owner` with `members` in it. */
  async function chat(owner: TestUser, members: TestUser[] = [], body: Record<string, unknown> = {}): Promise<ChatJson> {
    const res = await inject({
      method: 'POST',
      url: '/chats',
      headers: owner.headers,
      payload: { name: `chat ${randomBytes(3).toString('hex')}`, memberIds: members.map((m) => m.id), ...body },
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json()
  }

  /** Posts `text` to `chatId` as `sender`. */
  async function message(sender: TestUser, chatId: string, text = `hello ${randomBytes(3).toString('hex')}`): Promise<MessageJson> {
    const res = await inject({ method: 'POST', url: '/messages', headers: sender.headers, payload: { chatId, text } })
    expect(res.statusCode, res.body).toBe(201)
    return res.json()
  }

  /** GETs `url` as `as` and expects a 200 page. */
  async function page<T>(as: TestUser, url: string): Promise<Page<T>> {
    const res = await inject({ method: 'GET', url, headers: as.headers })
    expect(res.statusCode, res.body).toBe(200)
    return res.json()
  }

  return {
    kind,
    get app() {
      return state.app!
    },
    get db(): Kysely<DB> {
      return state.t!.db
    },
    get url() {
      return state.t!.url
    },
    get config() {
      return state.config!
    },
    /** Every statement run on this file's database, with parameters. */
    queries,
    /** Every response body sent by the apps of this file. */
    bodies,
    inject,
    build,
    user,
    chat,
    message,
    page,
  }
}

/** Checks that `res` is an RFC 9457 problem with `status` and `code`; returns its body. */
export function expectProblem(res: LightMyRequestResponse, status: number, code?: string): Record<string, any> {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json()
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), code: expect.any(String) })
  if (code) expect(body.code).toBe(code)
  return body
}

// Hand-signed tokens for tests of token checks: fastkit/testing's signJwt(header, payload, key).
export { signJwt } from 'fastkit/testing'

/** Valid access-token claims for `user`, expiring in 5 minutes, with `overrides` applied. */
export function claimsFor(user: { id: string; username: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { sub: user.id, username: user.username, jti: randomBytes(8).toString('hex'), iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...overrides }
}

/** A log destination that keeps every line it is given, for tests that read what the app logged. */
export function captureLog(): { readonly stream: Writable; readonly lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { stream, lines }
}

/**
 * Waits until transaction `tx` has settled: no transaction that began writing before it is still
 * running on the server (other test files' included), so both message lists show its messages. What
 * `POST /messages` waits for before it answers, for tests that write through a repository.
 */
export async function untilSettled(db: Kysely<any>, tx: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { rows } = await sql<{ settled: boolean }>`select ${tx}::xid8 < pg_snapshot_xmin(pg_current_snapshot()) as settled`.execute(db)
    if (rows[0]!.settled) return
    if (Date.now() > deadline) throw new Error(`transaction ${tx} did not settle within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
