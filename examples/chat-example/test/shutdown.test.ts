import { afterAll, describe, expect, test } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import WebSocket from 'ws'
import { openDatabase } from '../src/db/database.js'
import { createInbox, freePort, startServerProcess, type ServerProcess } from 'fastkit/testing'
import { TEST_JWT_SECRET } from './support/realtime-app.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
/** main.ts's deadline for requests in flight; the process must be gone well within it. */
const DEADLINE_MS = 10_000

interface Outcome {
  readonly status?: number
  readonly headers?: http.IncomingHttpHeaders
  readonly body?: string
  /** A request that never got a response: refused or reset before the server answered. */
  readonly errorBeforeResponse?: string
  /** A response that started and broke off: never acceptable. */
  readonly errorAfterResponse?: string
}

/** One request on `agent`, recording how it ended instead of throwing. */
function request(port: number, agent: http.Agent, method: string, url: string, token: string, body?: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: url,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
        res.on('error', (error) => resolve({ errorAfterResponse: error.message }))
        res.on('aborted', () => resolve({ errorAfterResponse: 'aborted' }))
      },
    )
    req.on('error', (error) => resolve({ errorBeforeResponse: (error as NodeJS.ErrnoException).code ?? error.message }))
    req.end(payload)
  })
}

/** Reads HTTP/1.1 responses (with Content-Length bodies) off a raw socket's bytes. */
function parseResponses(raw: string): { status: number; headers: Record<string, string>; body: string }[] {
  const responses = []
  let rest = raw
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) break
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n')
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    const length = Number(headers['content-length'] ?? 0)
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) })
    rest = rest.slice(end + 4 + length)
  }
  return responses
}

describe('SIGTERM under load: the real server process drains, answers, closes and exits 0', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chat-shutdown-'))
  let server: ServerProcess | undefined
  afterAll(async () => {
    await server?.stop('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('every request the server read gets a complete response, 201s are persisted, WebSockets get 1001', { timeout: 240_000 }, async () => {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', REDIS_URL: '' }
    delete env.DATABASE_URL
    server = await startServerProcess({
      args: ['--import', 'tsx', '--conditions=@fastkit/source', 'src/main.ts'],
      cwd: exampleDir,
      env,
      ready: { url: `${base}/health` },
      timeoutMs: 120_000,
    })
    const { child } = server

    const json = { 'content-type': 'application/json' }
    await fetch(`${base}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }) })
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }) })
    const token = ((await login.json()) as { access_token: string }).access_token
    const chat = await fetch(`${base}/chats`, { method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: JSON.stringify({ name: 'load', memberIds: [] }) })
    const chatId = ((await chat.json()) as { id: string }).id

    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`)
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    const wsClosed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)))

    // A request in flight across the signal: its head is read, half its body is not sent yet. A second
    // request is pipelined behind it after the signal, so the server reads it during the drain.
    const raw = connect(port, '127.0.0.1')
    let rawOutput = ''
    raw.setEncoding('utf8').on('data', (chunk: string) => (rawOutput += chunk))
    const rawClosed = new Promise<void>((resolve) => raw.once('close', () => resolve()))
    const slowBody = JSON.stringify({ chatId, text: 'in flight across SIGTERM' })
    const head = (body: string) =>
      `POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
    raw.write(head(slowBody) + slowBody.slice(0, 10))

    // Load: eight keep-alive clients posting until the server stops answering.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
    const outcomes = createInbox<Outcome>()
    let sent = 0
    const poster = async () => {
      for (;;) {
        const outcome = await request(port, agent, 'POST', '/messages', token, { chatId, text: `load ${sent++}` })
        outcomes.push(outcome)
        if (outcome.status !== 201) return
      }
    }
    const posters = Array.from({ length: 8 }, poster)
    await outcomes.waitUntil((done) => done.length >= 40, 60_000)

    const signalledAt = Date.now()
    child.kill('SIGTERM')
    // The drain has begun once the process says so (on a busy machine the signal may wait its turn).
    await server.waitForOutput(/SIGTERM: shutting down/, 30_000)
    const pipelined = JSON.stringify({ chatId, text: 'arrived during the drain' })
    raw.write(slowBody.slice(10) + head(pipelined) + pipelined)

    const { code } = await server.exited
    const output = server.output()
    const exitMs = Date.now() - signalledAt
    await Promise.all(posters)
    await rawClosed
    agent.destroy()

    expect(code, output).toBe(0)
    expect(exitMs, output.split("\n").filter((l) => !l.includes("POST /messages 201")).join("\n")).toBeLessThan(DEADLINE_MS)
    expect(output).toMatch(/SIGTERM: shutting down/)
    expect(output).toMatch(/"msg":"stopped"/)
    expect(await wsClosed).toBe(1001)

    // The slow request finished with 201; the one read during the drain got 503 problem+json + Connection: close.
    const [inFlight, duringDrain, ...more] = parseResponses(rawOutput)
    expect(inFlight?.status, rawOutput).toBe(201)
    expect(duringDrain).toMatchObject({ status: 503, headers: { 'content-type': 'application/problem+json', connection: 'close' } })
    expect(duringDrain!.headers['retry-after']).toBeDefined()
    expect(JSON.parse(duringDrain!.body)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' })
    expect(more).toEqual([])

    // Every load request ended cleanly: a complete 201 or 503, or refused before any response. Never a
    // response broken off, never a 500.
    expect(outcomes.events.filter((o) => o.errorAfterResponse)).toEqual([])
    for (const o of outcomes.events) if (o.status !== undefined) expect([201, 503]).toContain(o.status)
    const created = outcomes.events.filter((o) => o.status === 201).map((o) => (JSON.parse(o.body!) as { id: string }).id)
    created.push((JSON.parse(inFlight!.body) as { id: string }).id)

    // Exactly the answered writes are in the database: none lost, none persisted without its 201.
    const db = openDatabase(`pglite://${path.join(dataDir, 'db')}`)
    try {
      const rows = await sql<{ id: string }>`select id from messages`.execute(db)
      expect(rows.rows.map((r) => r.id).sort()).toEqual(created.sort())
    } finally {
      await db.destroy()
    }
  })
})
