/**
 * What a registration flood from one address costs another client: the p99 latency of `GET /chats`
 * (an authenticated list) alone, then during a flood of `POST /auth/register` with fresh usernames,
 * once with the chat's defaults (registration limit per address + bounded argon2 queue) and once with
 * the registration limit lifted (the hash queue alone). Real HTTP on 127.0.0.1; the server runs in a
 * child process (this file with `--serve`) on a throwaway PGlite, so the load generator does not share
 * its event loop.
 *
 *   pnpm --filter chat-example bench:register-flood   (BENCH_SECONDS=10, BENCH_ROUNDS=3 by default)
 *
 * Measured on a shared 2-core VM (8 s runs, 2 rounds; other jobs ran meanwhile, so runs vary 2x):
 * no flood p99 182/81 ms; flood with the chat's defaults 313/187 ms (1.7x by the medians; the flood
 * gets 29 accounts, then about 450 cheap 429s a second); flood with the registration limit lifted
 * 95/64 ms (the hash queue holds the flood to one argon2 at a time, 6-11 accounts a second).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const LIST_CONNECTIONS = 4
const FLOOD_CONNECTIONS = 64
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

if (process.argv.includes('--serve')) await serve()
else await main()

/** The child: the chat app of main.ts on a fresh PGlite; `UNLIMITED_REGISTRATION=1` lifts the per-address limit. */
async function serve(): Promise<void> {
  const { buildApp } = await import('../src/app.js')
  const { loadConfig } = await import('../src/config.js')
  const { migrate, openDatabase } = await import('../src/db/database.js')
  const config = loadConfig()
  const db = openDatabase(config.databaseUrl)
  await migrate(db)
  const app = await buildApp({
    config,
    db,
    ...(process.env.UNLIMITED_REGISTRATION ? { registrationThrottle: { perAddress: { limit: 1_000_000, windowSeconds: 1 } } } : {}),
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  process.send!(address)
  process.once('SIGTERM', () => void app.close().then(() => db.destroy()).then(() => process.exit(0)))
}

async function startServer(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'register-flood-'))
  const file = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, ['--conditions=@fastkit/source', '--import', 'tsx', file, '--serve'], {
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dataDir, JWT_SECRET: randomBytes(36).toString('base64url'), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)))
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
  const stop = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    rmSync(dataDir, { recursive: true, force: true })
  }
  return { url, stop }
}

async function json(url: string, method: string, body?: unknown, token?: string): Promise<any> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`)
  return response.json()
}

/** A user with a few chats, and the list client's autocannon options. */
async function lister(url: string): Promise<autocannon.Options> {
  const username = `reader_${randomBytes(4).toString('hex')}`
  const password = 'a reader password'
  await json(`${url}/auth/register`, 'POST', { username, password })
  const { access_token: token } = await json(`${url}/auth/login`, 'POST', { username, password })
  for (let i = 0; i < 10; i++) await json(`${url}/chats`, 'POST', { name: `chat ${i}` }, token)
  return { url: `${url}/chats?limit=20`, connections: LIST_CONNECTIONS, duration: SECONDS, headers: { authorization: `Bearer ${token}` } }
}

function flood(url: string): autocannon.Options {
  return {
    url: `${url}/auth/register`,
    connections: FLOOD_CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ username: `f_${randomBytes(8).toString('hex')}`, password: 'flood password 123' }) }),
      },
    ],
  }
}

interface Row {
  readonly scenario: string
  readonly p50: number
  readonly p99: number
  readonly listRps: number
  readonly flood?: string
}

async function scenario(name: string, env: Record<string, string>, withFlood: boolean): Promise<Row> {
  const server = await startServer(env)
  try {
    const listOptions = await lister(server.url)
    const [list, attack] = await Promise.all([autocannon(listOptions), withFlood ? autocannon(flood(server.url)) : undefined])
    const codes = attack ? Object.entries(attack.statusCodeStats as Record<string, { count: number }>).map(([code, { count }]) => `${code}×${count}`).join(' ') : undefined
    return { scenario: name, p50: list.latency.p50, p99: list.latency.p99, listRps: Math.round(list.requests.average), ...(codes ? { flood: codes } : {}) }
  } finally {
    await server.stop()
  }
}

async function main(): Promise<void> {
  console.log(
    `GET /chats with ${LIST_CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds (median per scenario); ` +
      `flood: ${FLOOD_CONNECTIONS} connections of POST /auth/register with fresh usernames`,
  )
  const scenarios: [string, Record<string, string>, boolean][] = [
    ['no flood', {}, false],
    ['flood, chat defaults', {}, true],
    ['flood, no registration limit (hash queue only)', { UNLIMITED_REGISTRATION: '1' }, true],
  ]
  // Rounds interleave the scenarios, so a burst of load from elsewhere on the machine hits them alike.
  const runs: Row[][] = scenarios.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [name, env, withFlood]] of scenarios.entries()) {
      const row = await scenario(name, env, withFlood)
      console.log(`round ${round + 1}, ${name}: p99 ${row.p99} ms, p50 ${row.p50} ms, ${row.listRps} list req/s${row.flood ? `, flood ${row.flood}` : ''}`)
      runs[i]!.push(row)
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const rows = runs.map((r) => ({
    scenario: r[0]!.scenario,
    'p99 ms (median)': median(r.map((x) => x.p99)),
    'p99 ms (runs)': r.map((x) => x.p99).join(' '),
    'p50 ms (median)': median(r.map((x) => x.p50)),
    'list req/s': median(r.map((x) => x.listRps)),
    flood: r.map((x) => x.flood ?? '').join(' | '),
  }))
  console.table(rows)
  const base = rows[0]!['p99 ms (median)']
  for (const row of rows.slice(1)) {
    console.log(`${row.scenario}: p99 ${row['p99 ms (median)']} ms = ${(row['p99 ms (median)'] / base).toFixed(2)}x the no-flood p99 (${base} ms)`)
  }
}
