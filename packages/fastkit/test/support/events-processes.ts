import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('../fixtures/events-server.ts', import.meta.url))

/** A fixture server running in its own Node process. */
export interface ServerProcess {
  readonly baseUrl: string
  stop(): Promise<void>
}

/** Spawns `node --import tsx test/fixtures/events-server.ts` and waits until it listens. */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--conditions=@fastkit/source', fixture], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
  return new Promise((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`the server process did not start within 60 s\n${stderr}`))
    }, 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const line = stdout.split('\n').find((l) => l.startsWith('{"port"'))
      if (!line) return
      clearTimeout(timer)
      resolve({ baseUrl: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, stop })
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the server process exited (${code}) before listening\n${stderr}`))
    })
  })
}
