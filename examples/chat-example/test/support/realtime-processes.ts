import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect } from 'vitest'
import { freePort, startServerProcess, type ServerProcess, type TestDatabase } from 'fastkit/testing'
import type { DB } from '../../src/db/schema.js'
import { createChatDatabase, participant, TEST_JWT_SECRET, type Participant } from './realtime-app.js'

const exampleDir = fileURLToPath(new URL('../../', import.meta.url))

/** The real chat server (`src/main.ts`) running in a child process. */
export interface ChatProcess {
  readonly baseUrl: string
  readonly process: ServerProcess
  /** What the process wrote to stderr and stdout so far (warnings and errors: LOG_LEVEL=warn). */
  output(): string
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. Safe to call twice. */
  stop(): Promise<void>
}

/**
 * Runs `node --import tsx src/main.ts` with `env` on a free port and resolves once `GET /health`
 * answers 200. Rejects (and kills the child) if it exits first or is not up within `timeoutMs`.
 */
export async function startChatProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ChatProcess> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const server = await startServerProcess({
    args: ['--import', 'tsx', '--conditions=@fastkit/source', 'src/main.ts'],
    cwd: exampleDir,
    env: {
      ...process.env,
      // Nothing of the parent's own configuration leaks in (a REDIS_URL would change the transport).
      REDIS_URL: '',
      ALLOWED_ORIGINS: '',
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    ready: { url: `${baseUrl}/health` },
    timeoutMs,
  })
  return { baseUrl, process: server, output: server.output, stop: async () => void (await server.stop()) }
}

/** Chat processes sharing one fresh PostgreSQL database, for one test file (see {@link useChatProcesses}). */
export interface ChatProcesses {
  readonly t: TestDatabase<DB>
  readonly a: ChatProcess
  readonly b: ChatProcess
  /** Starts one more process on the same database, with the same environment; stopped with the others. */
  start(): Promise<ChatProcess>
  /** A {@link participant} registered through A and connected to `connectedTo` (default A); closed after the file's tests. */
  participant(name: string, connectedTo?: ChatProcess): Promise<Participant>
}

/**
 * The multi-process tests' setup: a fresh migrated PostgreSQL database (main.ts migrates again at
 * start, which must be a no-op) and two chat processes on it with `env`, started before the file's
 * tests. After them: participants' connections closed, processes stopped, database dropped, and no
 * process may have logged an error (level 50 or more) meanwhile.
 */
export function useChatProcesses(env: Record<string, string>): ChatProcesses {
  let t: TestDatabase<DB> | undefined
  const processes: ChatProcess[] = []
  const people: Participant[] = []
  const start = async () => {
    const started = await startChatProcess({ DATABASE_URL: t!.url, ...env })
    processes.push(started)
    return started
  }
  beforeAll(async () => {
    t = await createChatDatabase('postgres')
    await Promise.all([start(), start()])
  }, 120_000)
  afterAll(async () => {
    for (const person of people) await person.client.close()
    await Promise.all(processes.map((p) => p.stop()))
    await t?.destroy()
    expect(processes.map((p) => p.output()).join('')).not.toMatch(/"level":5\d/)
  })
  const started = (index: number) => {
    const process = processes[index]
    if (!t || !process) throw new Error('useChatProcesses: the processes start in beforeAll; use them inside tests')
    return process
  }
  return {
    get t() {
      if (!t) throw new Error('useChatProcesses: the database is made in beforeAll; use it inside tests')
      return t
    },
    get a() {
      return started(0)
    },
    get b() {
      return started(1)
    },
    start,
    async participant(name, connectedTo = started(0)) {
      const person = await participant(started(0).baseUrl, name, connectedTo.baseUrl)
      people.push(person)
      return person
    },
  }
}
