import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { TEST_JWT_SECRET } from './realtime-app.js'

const exampleDir = fileURLToPath(new URL('../../', import.meta.url))
const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

/** The real chat server (`src/main.ts`) running in a child process. */
export interface ChatProcess {
  readonly baseUrl: string
  /** What the process wrote to stderr and stdout so far (warnings and errors: LOG_LEVEL=warn). */
  output(): string
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. Safe to call twice. */
  stop(): Promise<void>
}

/** A port nobody listens on right now (the OS picks it; the child binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/**
 * Spawns `node --import tsx src/main.ts` with `env` on a free port and resolves once `GET /health` answers 200.
 * Rejects (and kills the child) if it exits first or is not up within `timeoutMs`.
 */
export async function startChatProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ChatProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@fastkit/source', main], {
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
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + timeoutMs
  let exitedEarly = false
  void exited.then(() => (exitedEarly = true))
  for (;;) {
    if (exitedEarly) throw new Error(`the chat process exited (${child.exitCode ?? child.signalCode}) before serving\n${output}`)
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`the chat process did not answer GET /health within ${timeoutMs} ms\n${output}`)
    }
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { baseUrl, output: () => output, stop }
}
