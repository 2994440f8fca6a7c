/**
 * The benchmark's yardstick: a hand-written Fastify 5 + Kysely server answering the chat's four hot
 * routes (`GET /auth/me`, `GET /messages/:id`, `GET /messages?chatId=&limit=`, `POST /messages`) with
 * the chat's SQL and the chat's JSON, verifying the chat's JWTs (same secret, issuer, audience). No
 * fastkit, no DI container, no zod: what a careful person would write by hand. It sends no real-time
 * events (there is nobody to send them to).
 *
 * `POST /messages` is a plain insert guarded by the membership check (one autocommitted statement): the
 * yardstick of issue 13's write target. It delivers nothing; the chat also wakes its message feed,
 * which reads each new message and the chat's members to send `message.created`.
 *
 *   DATABASE_URL=postgres://… JWT_SECRET=… PORT=3001 node --import tsx bench/baseline-server.ts
 */
import Fastify, { type FastifyRequest } from 'fastify'
import jwt from '@fastify/jwt'
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// The message as the API shows it (its `tx`, the order key, stays in the database).
const COLUMNS = ['id', 'chatId', 'senderId', 'text', 'createdAt', 'updatedAt', 'editedAt'] as const

interface Row {
  id: string
  chatId: string
  senderId: string
  text: string
  createdAt: Date
  updatedAt: Date
  editedAt: Date | null
}

const db = new Kysely<any>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }) }),
  plugins: [new CamelCasePlugin()],
})

const app = Fastify({ logger: false })
await app.register(jwt, { secret: process.env.JWT_SECRET!, sign: { iss: 'chat-example', aud: 'chat-example-api' }, verify: { allowedIss: 'chat-example', allowedAud: 'chat-example-api' } })

// The chat confirms the user still exists, remembering a confirmation for 60 s (fastkit's KnownUsers).
const confirmed = new Map<string, number>()
async function userExists(id: string): Promise<boolean> {
  const at = confirmed.get(id)
  if (at !== undefined && Date.now() - at < 60_000) return true
  const found = UUID.test(id) && (await db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
  if (found) confirmed.set(id, Date.now())
  return found
}

// The caller's id, set by the onRequest hook (a WeakMap, not a type augmentation of FastifyRequest:
// this file is typechecked with the chat, whose fastkit already augments request.user).
const callers = new WeakMap<FastifyRequest, string>()
const caller = (request: FastifyRequest) => callers.get(request)!

const problem = (status: number, title: string, detail: string) => ({ type: 'about:blank', title, status, detail })

app.addHook('onRequest', async (request, reply) => {
  let sub: string
  try {
    sub = (await request.jwtVerify<{ sub: string }>()).sub
  } catch {
    return reply.code(401).type('application/problem+json').send(problem(401, 'Unauthorized', 'Invalid or missing access token'))
  }
  callers.set(request, sub)
  if (!(await userExists(sub))) return reply.code(401).type('application/problem+json').send(problem(401, 'Unauthorized', 'Unknown user'))
})

const isMember = (userId: string) => (eb: any) =>
  eb.exists(eb.selectFrom('chatMembers').select('chatMembers.id').whereRef('chatMembers.chatId', '=', 'messages.chatId').where('chatMembers.userId', '=', userId))

app.get('/auth/me', async (request) => {
  const user = await db.selectFrom('users').select(['id', 'username', 'createdAt']).where('id', '=', caller(request)).executeTakeFirst()
  return user
})

app.get<{ Params: { id: string } }>('/messages/:id', async (request, reply) => {
  const { id } = request.params
  const message = UUID.test(id)
    ? await db.selectFrom('messages').select(COLUMNS).where('id', '=', id).where(isMember(caller(request))).executeTakeFirst()
    : undefined
  if (!message) return reply.code(404).type('application/problem+json').send(problem(404, 'Not Found', 'Message not found'))
  return message
})

app.get<{ Querystring: { chatId?: string; limit?: string } }>('/messages', async (request, reply) => {
  const { chatId } = request.query
  const limit = Number(request.query.limit ?? 50)
  if (!chatId || !UUID.test(chatId) || !Number.isInteger(limit) || limit < 1 || limit > 100) {
    return reply.code(400).type('application/problem+json').send(problem(400, 'Bad Request', 'chatId and limit (1–100) are required'))
  }
  const member = await db.selectFrom('chatMembers').selectAll().where('chatId', '=', chatId).where('userId', '=', caller(request)).executeTakeFirst()
  if (!member) return reply.code(404).type('application/problem+json').send(problem(404, 'Not Found', 'Chat not found'))
  // One row more than the page tells whether another follows; the cursor keeps PostgreSQL's text of the
  // timestamp (microseconds), like fastkit's.
  const rows = await db
    .selectFrom('messages')
    .select(COLUMNS)
    .select([sql<string>`tx::text`.as('cursorTx'), sql<string>`created_at::text`.as('cursorCreatedAt')])
    .where('chatId', '=', chatId)
    .orderBy('tx', 'desc')
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  const last = page.at(-1)
  const items = page.map(({ cursorTx: _, cursorCreatedAt: __, ...message }) => message as Row)
  const nextCursor = more && last ? Buffer.from(JSON.stringify(['-tx,-createdAt,-id', [last.cursorTx, last.cursorCreatedAt, last.id]]), 'utf8').toString('base64url') : null
  return { items, nextCursor }
})

app.post<{ Body: { chatId?: unknown; text?: unknown } }>('/messages', async (request, reply) => {
  const { chatId } = request.body ?? {}
  const text = typeof request.body?.text === 'string' ? request.body.text.trim() : ''
  if (typeof chatId !== 'string' || !UUID.test(chatId) || text.length < 1 || text.length > 4000) {
    return reply.code(400).type('application/problem+json').send(problem(400, 'Bad Request', 'chatId and text (1–4000 characters) are required'))
  }
  const userId = caller(request)
  const inserted = await db
    .insertInto('messages')
    .columns(['chatId', 'senderId', 'text'])
    .expression(sql`select ${chatId}::uuid, ${userId}::uuid, ${text} where exists (select 1 from chat_members where chat_id = ${chatId} and user_id = ${userId})`)
    .returning(COLUMNS)
    .executeTakeFirst()
  if (!inserted) return reply.code(404).type('application/problem+json').send(problem(404, 'Not Found', 'Chat not found'))
  return reply.code(201).send(inserted)
})

const address = await app.listen({ port: Number(process.env.PORT ?? 3001), host: '127.0.0.1' })
console.log(`baseline ready: ${address}`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => db.destroy()).then(() => process.exit(0))
  })
}
