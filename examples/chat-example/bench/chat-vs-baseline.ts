/**
 * `pnpm bench`: the chat example against a hand-written Fastify + Kysely server (bench/baseline-server.ts)
 * over real HTTP on loopback, on PostgreSQL, with the same data, tokens and JSON.
 *
 * 1. Creates a fresh database on PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres
 *    as the admin connection), migrates it with the chat's migrations and seeds 1,000 users, one chat of 32
 *    members with N messages (100k; 2k with --quick) and one chat with every user as a member (fan-out).
 *    With --compiled (and not --only-compiled), the compiled chat runs on a copy of it, so that the two
 *    chats are not each other's peers.
 * 2. Starts the chat the way `pnpm start` does (`node --import tsx src/main.ts`) and prints its start-up time
 *    (spawn → accepting connections) on that existing data; starts the baseline server.
 * 3. Runs autocannon (32 connections) on each route, alternating chat, baseline, chat, baseline… for ROUNDS
 *    rounds; prints req/s, p50, p99 and CPU time per request per server (median of rounds) and the ratio chat/baseline (median of the
 *    per-round ratios). `POST /messages` is 32 posters (one token per connection) into one chat.
 * 4. Fan-out: MEMBERS WebSocket clients (in this process) connected as members of one chat; posts at a steady
 *    rate; deliveries/s and p99 POST → receipt, against a bare `ws` broadcast (bench/ws-broadcast-server.ts) of
 *    the same frames to the same number of sockets.
 * 5. Drops the database (and its copy).
 *
 * Exits non-zero only when something is broken: a server fails to start, a route answers non-2xx, the two
 * servers answer different JSON, or fan-out loses messages. Never on ratios (machines are noisy).
 *
 *   pnpm bench          # builds, then full --compiled: 4 rounds × 4 s per route and server, 100k messages,
 *                       # 1,000 sockets at 20 posts/s (about 6 minutes on 2 cores)
 *   pnpm bench:quick    # CI: 1 round × 2 s, 2k messages, 200 sockets at 20 posts/s, no build (under a minute)
 *
 * Flags: --quick, --compiled (also the compiled production start; needs `pnpm build` and
 * `pnpm --filter chat-example build`). To iterate on one route: --routes=me,get,list,post
 * (a subset, in that naming), --rounds=N, --only-compiled (skip the tsx start; implies --compiled),
 * --routes=none (only the fan-out), --no-fanout, --cpu-prof=DIR (the compiled chat writes a V8 CPU
 * profile there when it stops). Environment: BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS (0: no warm-up), BENCH_FANOUT_RATE,
 * BENCH_DATABASE_URL (the admin connection), BENCH_PORT_BASE (default 3901: the chat, then the
 * baseline, the bare ws server and the compiled chat on the next three ports), BENCH_CHAT_PROFILE_DIR
 * (the chat started from source writes a CPU profile there), LOG_LEVEL (the chat's; default info).
 *
 *   pnpm --filter chat-example bench --only-compiled --routes=me,get,list --rounds=4 --no-fanout
 *
 * Fan-out posts at a steady rate: while both sides keep up, deliveries/s is the offered rate for both and
 * the ratio is 1; raise BENCH_FANOUT_RATE to find where each saturates. The sockets live in this process,
 * so past some rate the bench itself is the bottleneck (the bare-ws row shows where).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import WebSocket from 'ws'
import { migrate, openDatabase } from '../src/db/database.js'

const flag = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = process.argv.includes('--quick')
const onlyCompiled = process.argv.includes('--only-compiled')
const compiled = onlyCompiled || process.argv.includes('--compiled')
const withFanout = !process.argv.includes('--no-fanout')
const cpuProfileDir = flag('cpu-prof')
/** Seconds of warm-up per route and server before the first round (BENCH_WARMUP_SECONDS; 0 skips it, e.g. to profile only measured requests). */
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 1)
/** Short names of the routes, for --routes=. */
const ROUTE_KEYS = ['me', 'get', 'list', 'post'] as const
const routesFlag = flag('routes')
const routeKeys = routesFlag === 'none' ? [] : (routesFlag?.split(',') ?? [...ROUTE_KEYS])
for (const key of routeKeys) if (!(ROUTE_KEYS as readonly string[]).includes(key)) throw new Error(`--routes: unknown route ${key} (one of ${ROUTE_KEYS.join(', ')}, or none)`)
const config = {
  rounds: Number(flag('rounds') ?? process.env.BENCH_ROUNDS ?? (quick ? 1 : 4)),
  seconds: Number(process.env.BENCH_SECONDS ?? (quick ? 2 : 4)),
  messages: quick ? 2_000 : 100_000,
  members: quick ? 200 : 1_000,
  connections: 32,
  fanoutRate: Number(process.env.BENCH_FANOUT_RATE ?? 20),
  fanoutSeconds: quick ? 2 : 6,
  fanoutRounds: quick ? 1 : 2,
  startups: quick ? 1 : 2,
}
const exampleDir = fileURLToPath(new URL('..', import.meta.url))
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = `fastkit_bench_${process.pid}_${Date.now()}`
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
// The compiled chat gets a copy of the seeded database when the tsx chat runs too: two chats on one
// database are each other's peers (each post of one would wake the other's message feed, in the
// middle of the other's measurements), where a production process runs alone or among its own.
const compiledDbName = `${dbName}_compiled`
const compiledDatabaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${compiledDbName}` }).toString()
const secret = randomBytes(48).toString('base64url')
// BENCH_PORT_BASE moves all four ports (two benches on one machine must not answer each other).
const portBase = Number(process.env.BENCH_PORT_BASE ?? 3901)
const PORTS = { chat: portBase, baseline: portBase + 1, broadcast: portBase + 2, compiled: portBase + 3 }
const problems: string[] = []
const children = new Set<ChildProcess>()
/** The process listening on each port, for its CPU time. */
const pids = new Map<number, number>()

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux; NaN elsewhere). Per
 * request it is a steadier measure than req/s on a loaded machine: it counts the work, not the wait.
 */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime, stime in USER_HZ (100)
  } catch {
    return Number.NaN
  }
}

// ---------------------------------------------------------------------------------------------- setup

/** An HS256 access token exactly as fastkit issues them (sub, username, jti; iss, aud, iat, exp). */
function token(user: { id: string; username: string }): string {
  const now = Math.floor(Date.now() / 1000)
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: user.id, username: user.username, jti: randomUUID(), iat: now, exp: now + 3600, iss: 'chat-example', aud: 'chat-example-api' })}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

interface Seed {
  users: { id: string; username: string; token: string }[]
  chatId: string
  fanoutChatId: string
  messageId: string
}

async function seed(): Promise<Seed> {
  await admin((c) => c.query(`create database "${dbName}"`))
  const db = openDatabase(databaseUrl)
  try {
    await migrate(db)
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const { rows: users } = await client.query<{ id: string; username: string }>(
        `insert into users (username, password_hash) select 'bench_user_' || i, 'not-a-hash' from generate_series(1, $1) as i returning id, username`,
        [config.members],
      )
      users.sort((a, b) => Number(a.username.slice(11)) - Number(b.username.slice(11)))
      const owner = users[0]!.id
      const { rows: [chat] } = await client.query(`insert into chats (name, is_group, owner_id) values ('bench', true, $1) returning id`, [owner])
      const { rows: [fanout] } = await client.query(`insert into chats (name, is_group, owner_id) values ('fan-out', true, $1) returning id`, [owner])
      const ids = users.map((u) => u.id)
      await client.query(
        `insert into chat_members (chat_id, user_id, role) select $1, u, case when u = $3 then 'owner' else 'member' end from unnest($2::uuid[]) as u`,
        [chat.id, ids.slice(0, config.connections), owner],
      )
      await client.query(
        `insert into chat_members (chat_id, user_id, role) select $1, u, case when u = $3 then 'owner' else 'member' end from unnest($2::uuid[]) as u`,
        [fanout.id, ids, owner],
      )
      // Distinct, increasing stamps, 1 ms apart, ending now; senders rotate among the 32 members.
      await client.query(
        `insert into messages (chat_id, sender_id, text, created_at, updated_at)
         select $1, ($2::uuid[])[1 + i % 32], 'seeded message number ' || i, t, t
         from generate_series(1, $3) as i, lateral (select clock_timestamp() - ($3 - i) * interval '1 millisecond' as t) as s`,
        [chat.id, ids.slice(0, config.connections), config.messages],
      )
      await client.query('analyze')
      const { rows: [middle] } = await client.query(`select id from messages where chat_id = $1 order by created_at offset $2 limit 1`, [chat.id, Math.floor(config.messages / 2)])
      return { users: users.map((u) => ({ ...u, token: token(u) })), chatId: chat.id, fanoutChatId: fanout.id, messageId: middle.id }
    } finally {
      await client.end()
    }
  } finally {
    await db.destroy()
  }
}

// ---------------------------------------------------------------------------------------------- servers

function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`exited (${code}) before listening on ${port}`))
    child.once('exit', exited)
    const attempt = () => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        child.off('exit', exited)
        resolve()
      })
      socket.once('error', () => {
        socket.destroy()
        if (Date.now() > deadline) reject(new Error(`nothing listening on ${port} after ${timeoutMs} ms`))
        else setTimeout(attempt, 10)
      })
    }
    attempt()
  })
}

/** Spawns a server and resolves once it accepts connections, with the time that took. */
async function start(name: string, args: string[], port: number, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; ms: number }> {
  const begin = performance.now()
  const child = spawn(process.execPath, args, { cwd: exampleDir, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  pids.set(port, child.pid!)
  let stderr = ''
  child.stdout!.resume() // the chat logs a line per request: read and drop it, as a log collector would
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  child.once('exit', () => children.delete(child))
  try {
    await waitForPort(port, child)
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}\n${stderr}`)
  }
  return { child, ms: performance.now() - begin }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

const chatEnv = { DATABASE_URL: databaseUrl, JWT_SECRET: secret, REDIS_URL: '', HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }
// BENCH_CHAT_PROFILE_DIR: the chat writes a CPU profile (.cpuprofile) there when it stops.
const profileArgs = process.env.BENCH_CHAT_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHAT_PROFILE_DIR}`] : []
const startChat = () => start('chat', [...profileArgs, '--import', 'tsx', '--conditions=@fastkit/source', 'src/main.ts'], PORTS.chat, chatEnv)
// The production start: compiled JavaScript (`pnpm build` in packages/fastkit and in the example first).
const startCompiled = () => {
  for (const file of ['dist/src/main.js', '../../packages/fastkit/dist/index.js']) {
    if (!existsSync(path.join(exampleDir, file))) throw new Error(`--compiled: ${file} is missing: run \`pnpm build\` and \`pnpm --filter chat-example build\` first`)
  }
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfileDir)}`] : []
  return start('chat (compiled)', [...profile, 'dist/src/main.js'], PORTS.compiled, { ...chatEnv, DATABASE_URL: onlyCompiled ? databaseUrl : compiledDatabaseUrl, NODE_ENV: 'production' })
}
const startBaseline = () => start('baseline', [...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfileDir)}`] : []), '--import', 'tsx', 'bench/baseline-server.ts'], PORTS.baseline, { DATABASE_URL: databaseUrl, JWT_SECRET: secret })

// ---------------------------------------------------------------------------------------------- HTTP

interface Route {
  key: (typeof ROUTE_KEYS)[number]
  name: string
  options: (port: number) => autocannon.Options
  probe?: (port: number) => Promise<unknown>
}

interface Sample {
  rps: number
  /** The server's CPU time per request, µs. */
  cpu: number
  p50: number
  p99: number
}

function routes(s: Seed): Route[] {
  const reader = s.users[0]!
  const auth = { authorization: `Bearer ${reader.token}` }
  const get = (path: string): Route['probe'] => async (port) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: auth })
    if (response.status !== 200) throw new Error(`GET ${path} on ${port}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const posters = s.users.slice(0, config.connections).map((u) => u.token)
  const list = `/messages?chatId=${s.chatId}&limit=50`
  const all: Route[] = [
    { key: 'me', name: 'GET /auth/me', options: (port) => ({ url: `http://127.0.0.1:${port}/auth/me`, headers: auth }), probe: get('/auth/me') },
    { key: 'get', name: 'GET /messages/:id', options: (port) => ({ url: `http://127.0.0.1:${port}/messages/${s.messageId}`, headers: auth }), probe: get(`/messages/${s.messageId}`) },
    { key: 'list', name: 'GET /messages?chatId=&limit=50', options: (port) => ({ url: `http://127.0.0.1:${port}${list}`, headers: auth }), probe: get(list) },
    post('post', 'POST /messages (32 posters, one chat)'),
  ]
  return all.filter((route) => routeKeys.includes(route.key))

  function post(key: Route['key'], name: string): Route {
    return {
      key,
      name,
      options: (port) => {
        let next = 0
        return {
          url: `http://127.0.0.1:${port}`,
          requests: [
            {
              method: 'POST',
              path: '/messages',
              // One poster per connection: autocannon keeps a context per connection.
              setupRequest: (request: any, context: any) => {
                context.token ??= posters[next++ % posters.length]
                return { ...request, headers: { 'content-type': 'application/json', authorization: `Bearer ${context.token}` }, body: JSON.stringify({ chatId: s.chatId, text: 'hello from the benchmark' }) }
              },
            },
          ],
        }
      },
    }
  }
}

async function load(route: Route, port: number, label: string): Promise<Sample> {
  const cpuBefore = cpuMs(pids.get(port))
  const result = await autocannon({ connections: config.connections, duration: config.seconds, ...route.options(port) })
  const cpu = ((cpuMs(pids.get(port)) - cpuBefore) * 1000) / result.requests.total
  const bad = result.non2xx + result.errors + result.timeouts
  if (bad > 0) problems.push(`${label} ${route.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts of ${result.requests.total}`)
  if (result.requests.total === 0) problems.push(`${label} ${route.name}: no request completed`)
  return { rps: result.requests.average, cpu, p50: result.latency.p50, p99: result.latency.p99 }
}

/** Both servers must answer the same JSON. Run for every chat before {@link comparePosts} writes anything. */
async function compareReads(all: Route[], chatPort: number): Promise<void> {
  for (const route of all) {
    if (!route.probe) continue
    const [chat, baseline] = await Promise.all([route.probe(chatPort), route.probe(PORTS.baseline)])
    if (!isDeepStrictEqual(chat, baseline)) problems.push(`${route.name}: the two servers answer different JSON\n  chat:     ${firstDifference(chat, baseline)}\n  baseline: ${firstDifference(baseline, chat)}`)
  }
}

/** A post's answer differs only in ids and stamps: compare its status and keys. */
async function comparePosts(s: Seed, chatPort: number): Promise<void> {
  const post = async (port: number) => {
    const response = await fetch(`http://127.0.0.1:${port}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.users[1]!.token}` },
      body: JSON.stringify({ chatId: s.chatId, text: 'probe' }),
    })
    return { status: response.status, keys: Object.keys((await response.json()) as object).sort() }
  }
  const [chat, baseline] = [await post(chatPort), await post(PORTS.baseline)]
  if (!isDeepStrictEqual(chat, baseline)) problems.push(`POST /messages: the two servers answer differently: chat ${JSON.stringify(chat)}, baseline ${JSON.stringify(baseline)}`)
}

/** The first top-level (or item) value of `a` that differs from `b`'s, for the error message. */
function firstDifference(a: unknown, b: unknown): string {
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const [x, y] = [(a as any)[key], (b as any)[key]]
      if (!isDeepStrictEqual(x, y)) return `${key}: ${JSON.stringify(x)?.slice(0, 300)}`
    }
  }
  return JSON.stringify(a)?.slice(0, 300) ?? 'undefined'
}

// ---------------------------------------------------------------------------------------------- fan-out

interface FanoutResult {
  sockets: number
  posted: number
  /** Posts the server refused with 503 (overloaded): not committed, so not expected at the sockets. */
  refused: number
  delivered: number
  perSecond: number
  p50: number
  p99: number
}

async function openSockets(url: string, protocols: (i: number) => string[] | undefined, count: number, onFrame: (data: string) => void): Promise<WebSocket[]> {
  const sockets: WebSocket[] = []
  for (let batch = 0; batch < count; batch += 100) {
    const opened = []
    for (let i = batch; i < Math.min(count, batch + 100); i++) {
      const socket = new WebSocket(url, protocols(i))
      socket.on('message', (data) => onFrame(data.toString()))
      sockets.push(socket)
      opened.push(new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve())
        socket.once('error', reject)
        socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)))
      }))
    }
    await Promise.all(opened)
  }
  return sockets
}

async function fanout(target: 'chat' | 'bare', s: Seed, chatPort = PORTS.chat): Promise<FanoutResult> {
  const sentAt = new Map<number, number>()
  const latencies: number[] = []
  let last = 0
  const onFrame = (data: string) => {
    const match = /fanout-(\d+)-/.exec(data)
    if (!match) return
    const now = performance.now()
    latencies.push(now - sentAt.get(Number(match[1]))!)
    last = now
  }
  const url = target === 'chat' ? `ws://127.0.0.1:${chatPort}/ws` : `ws://127.0.0.1:${PORTS.broadcast}/ws`
  const sockets = await openSockets(url, (i) => (target === 'chat' ? ['bearer', s.users[i]!.token] : undefined), config.members, onFrame)
  const poster = s.users[0]!
  const posts: Promise<void>[] = []
  let refused = 0
  const total = config.fanoutRate * config.fanoutSeconds
  const first = performance.now()
  for (let seq = 0; seq < total; seq++) {
    // A steady rate: each post at its own slot, whatever the previous one's latency.
    const wait = first + (seq * 1000) / config.fanoutRate - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const text = `fanout-${seq}-`
    sentAt.set(seq, performance.now())
    posts.push(
      (async () => {
        const response =
          target === 'chat'
            ? await fetch(`http://127.0.0.1:${chatPort}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${poster.token}` }, body: JSON.stringify({ chatId: s.fanoutChatId, text }) })
            : await fetch(`http://127.0.0.1:${PORTS.broadcast}/broadcast`, { method: 'POST', body: bareFrame(s, text) })
        if (response.status === 503) refused++
        else if (response.status !== 201) problems.push(`fan-out ${target}: POST answered ${response.status}`)
        await response.arrayBuffer()
      })(),
    )
  }
  await Promise.all(posts)
  const expected = (total - refused) * config.members
  const deadline = performance.now() + 10_000
  while (latencies.length < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  for (const socket of sockets) socket.terminate()
  if (latencies.length < expected) problems.push(`fan-out ${target}: ${expected - latencies.length} of ${expected} deliveries missing after 10 s`)
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  return { sockets: config.members, posted: total, refused, delivered: latencies.length, perSecond: latencies.length / ((last - first) / 1000), p50: at(0.5), p99: at(0.99) }
}

/** The frame the chat sends for a `message.created`, shaped the same (the same keys, sizes and JSON). */
function bareFrame(s: Seed, text: string): string {
  const now = new Date().toISOString()
  return JSON.stringify({ type: 'message.created', data: { id: randomUUID(), chatId: s.fanoutChatId, senderId: s.users[0]!.id, text, createdAt: now, updatedAt: now, editedAt: null } })
}

// ---------------------------------------------------------------------------------------------- report

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–')

interface Contender {
  readonly name: string
  readonly port: number
}

async function main(): Promise<void> {
  const began = performance.now()
  console.log(`fastkit chat vs hand-written Fastify + Kysely${quick ? ' (--quick)' : ''}${compiled ? ' (--compiled)' : ''}`)
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`PostgreSQL ${adminUrl.replace(/\/[^/]*$/, '')}/${dbName}; ${config.messages} messages, ${config.members} users; ${config.rounds} rounds × ${config.seconds} s per route and server, ${config.connections} connections`)
  const s = await seed()
  if (compiled && !onlyCompiled) await admin((c) => c.query(`create database "${compiledDbName}" template "${dbName}"`))
  console.log(`seeded in ${((performance.now() - began) / 1000).toFixed(1)} s`)

  const startups = new Map<string, number[]>()
  const startRepeatedly = async (name: string, starter: () => ReturnType<typeof start>) => {
    const times: number[] = []
    let server = await starter()
    times.push(server.ms)
    for (let i = 1; i < config.startups; i++) {
      await stop(server.child)
      server = await starter()
      times.push(server.ms)
    }
    startups.set(name, times)
    console.log(`${name} start-up on existing data (spawn → listening): ${times.map((ms) => `${Math.round(ms)} ms`).join(', ')} (median ${Math.round(median(times))} ms)`)
    return server
  }
  const servers = onlyCompiled ? [] : [await startRepeatedly('chat (node --import tsx src/main.ts, as pnpm start)', startChat)]
  const contenders: Contender[] = onlyCompiled ? [] : [{ name: 'chat', port: PORTS.chat }]
  if (compiled) {
    servers.push(await startRepeatedly('chat (NODE_ENV=production node dist/src/main.js)', startCompiled))
    contenders.push({ name: 'chat compiled', port: PORTS.compiled })
  }
  servers.push(await startBaseline(), await start('ws broadcast', ['--import', 'tsx', 'bench/ws-broadcast-server.ts'], PORTS.broadcast, {}))
  const baseline: Contender = { name: 'baseline', port: PORTS.baseline }
  const measured = [...contenders, baseline]

  const all = routes(s)
  for (const c of contenders) await compareReads(all, c.port)
  for (const c of contenders) await comparePosts(s, c.port)
  // Warm every server (JIT, pools, caches) before the first measured round (not in --quick: it only
  // checks that everything runs).
  for (const route of quick || warmupSeconds === 0 ? [] : all) {
    for (const c of measured) await autocannon({ connections: config.connections, duration: warmupSeconds, ...route.options(c.port) })
  }

  const samples = new Map(all.map((r) => [r.name, new Map(measured.map((c) => [c.name, [] as Sample[]]))]))
  for (let round = 1; round <= config.rounds; round++) {
    for (const route of all) {
      for (const c of measured) samples.get(route.name)!.get(c.name)!.push(await load(route, c.port, `round ${round} ${c.name}`))
    }
    console.log(`round ${round}/${config.rounds} done (${((performance.now() - began) / 1000).toFixed(0)} s)`)
  }

  const fan = new Map<string, FanoutResult[]>([...contenders.map((c) => [c.name, []] as [string, FanoutResult[]]), ['bare ws', []]])
  for (let round = 1; withFanout && round <= config.fanoutRounds; round++) {
    for (const c of contenders) fan.get(c.name)!.push(await fanout('chat', s, c.port))
    fan.get('bare ws')!.push(await fanout('bare', s))
  }
  await Promise.all(servers.map((server) => stop(server.child)))

  const ratioHeads = contenders.map((c) => `${c.name} / baseline`)
  const rows = [
    `| route | ${ratioHeads.join(' | ')} | ${measured.map((c) => `${c.name} req/s`).join(' | ')} | ${measured.map((c) => `${c.name} p50 / p99 ms`).join(' | ')} | ${measured.map((c) => `${c.name} CPU µs/req`).join(' | ')} |`,
    `|---|${'---|'.repeat(ratioHeads.length + measured.length * 3)}`,
  ]
  for (const route of all) {
    const of = (c: Contender) => samples.get(route.name)!.get(c.name)!
    const b = of(baseline)
    const ratios = contenders.map((c) => `**${fmt(median(of(c).map((x, i) => x.rps / b[i]!.rps)), 2)}**`)
    const rps = measured.map((c) => fmt(median(of(c).map((x) => x.rps))))
    const lat = measured.map((c) => `${fmt(median(of(c).map((x) => x.p50)))} / ${fmt(median(of(c).map((x) => x.p99)))}`)
    const cpu = measured.map((c) => fmt(median(of(c).map((x) => x.cpu))))
    rows.push(`| \`${route.name}\` | ${ratios.join(' | ')} | ${rps.join(' | ')} | ${lat.join(' | ')} | ${cpu.join(' | ')} |`)
  }
  console.log('')
  console.log(rows.join('\n'))
  console.log('')
  const bare = fan.get('bare ws')!
  if (withFanout) console.log(`fan-out: ${config.members} sockets in one chat, ${config.fanoutRate} posts/s × ${config.fanoutSeconds} s (${config.fanoutRate * config.members} deliveries/s offered), ${config.fanoutRounds} rounds, median:`)
  if (withFanout) console.log('| server | deliveries/s | / bare ws | delivered per round | p50 POST→receipt ms | p99 POST→receipt ms |\n|---|---|---|---|---|---|')
  for (const [name, results] of withFanout ? fan : []) {
    const ratio = median(results.map((r, i) => r.perSecond / bare[i]!.perSecond))
    console.log(`| ${name} | ${fmt(median(results.map((r) => r.perSecond)))} | ${fmt(ratio, 2)} | ${results.map((r) => `${r.delivered}/${r.posted * r.sockets}${r.refused ? ` (${r.refused} POSTs refused 503)` : ''}`).join(', ')} | ${fmt(median(results.map((r) => r.p50)))} | ${fmt(median(results.map((r) => r.p99)))} |`)
  }
  console.log('')
  for (const [name, times] of startups) console.log(`start-up on existing data, ${name}: median ${Math.round(median(times))} ms`)
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; took ${((performance.now() - began) / 1000).toFixed(0)} s`)
}

let failed = false
try {
  await main()
} catch (error) {
  failed = true
  console.error(error)
} finally {
  await Promise.all([...children].map(stop))
  for (const name of [dbName, compiledDbName]) {
    await admin((c) => c.query(`drop database if exists "${name}" with (force)`)).catch((error: unknown) => console.error(`could not drop ${name}:`, error))
  }
}
if (problems.length) console.error(`\nBROKEN:\n- ${problems.join('\n- ')}`)
process.exit(failed || problems.length ? 1 : 0)
