// DATA_DIR (API.md, "Running it") belongs to one process, and only to its owner.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { loadConfig, MIN_SECRET_LENGTH } from '../src/config.js'
import { freePort } from 'fastkit/testing'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))

interface Run {
  readonly child: ChildProcess
  output(): string
  readonly exited: Promise<number | string>
}

/** `node --import tsx src/<script>` (not the tsx wrapper: the pid we see is the one holding DATA_DIR). */
function run(script: 'main.ts' | 'migrate.ts', env: Record<string, string>): Run {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', REDIS_URL: '', HOST: '127.0.0.1', ...env }
  delete childEnv.DATABASE_URL
  delete childEnv.JWT_SECRET
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@fastkit/source', `src/${script}`], {
    cwd: exampleDir,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  return { child, output: () => output, exited }
}

async function healthy(baseUrl: string, server: Run, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void server.exited.then(() => (exited = true))
  for (;;) {
    if (exited) throw new Error(`the server exited before serving:\n${server.output()}`)
    if (Date.now() > deadline) throw new Error(`the server did not answer /health within ${timeoutMs} ms:\n${server.output()}`)
    try {
      if ((await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })).status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function looseEntries(dir: string): string[] {
  const out: string[] = []
  const visit = (entry: string) => {
    const stat = lstatSync(entry)
    if (stat.mode & 0o077) out.push(`${(stat.mode & 0o777).toString(8)} ${entry}`)
    if (stat.isDirectory()) for (const name of readdirSync(entry)) visit(path.join(entry, name))
  }
  visit(dir)
  return out
}

describe('DATA_DIR', () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chat-data-dir-'))
    dirs.push(dir)
    return dir
  }

  test('a second start and a migrate on a running server\'s DATA_DIR exit 1 at once, naming the folder and the pid; everything in it is private', { timeout: 400_000 }, async () => {
    const dataDir = path.join(tempDir(), 'data') // created by the server
    const port = await freePort()
    const server = run('main.ts', { DATA_DIR: dataDir, PORT: String(port) })
    try {
      const baseUrl = `http://127.0.0.1:${port}`
      await healthy(baseUrl, server, 300_000)
      const registered = await fetch(`${baseUrl}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }),
      })
      expect(registered.status).toBe(201)

      const holder = `The data folder ${path.join(dataDir, 'db')} is in use by another process (pid ${server.child.pid})`
      const [second, migrate] = [run('main.ts', { DATA_DIR: dataDir, PORT: String(await freePort()) }), run('migrate.ts', { DATA_DIR: dataDir })]
      expect(await second.exited).toBe(1)
      expect(second.output()).toContain(`fastkit chat example failed to start: ${holder}`)
      expect(await migrate.exited).toBe(1)
      expect(migrate.output()).toContain(`migrate failed: ${holder}`)

      expect((await fetch(`${baseUrl}/health`)).status).toBe(200) // the first one is unharmed
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
    }
    expect(looseEntries(dataDir)).toEqual([])
    expect(statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600)
  })

  test('an existing DATA_DIR that others can read is made private when the config is loaded', () => {
    const dataDir = path.join(tempDir(), 'data')
    mkdirSync(dataDir)
    chmodSync(dataDir, 0o755)
    loadConfig({ DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(MIN_SECRET_LENGTH) })
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
  })
})
