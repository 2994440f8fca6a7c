import { fileURLToPath } from 'node:url'
import { startServerProcess } from '../../src/testing/index.js'

const packageDir = fileURLToPath(new URL('../..', import.meta.url))

/** A fixture server running in its own Node process. */
export interface ServerProcess {
  readonly baseUrl: string
  stop(): Promise<void>
}

/** Runs `node --import tsx test/fixtures/events-server.ts` with `env` and waits until it prints its port. */
export async function startEventsServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServerProcess({
    args: ['--import', 'tsx', '--conditions=@fastkit/source', 'test/fixtures/events-server.ts'],
    cwd: packageDir,
    env: { ...process.env, ...env },
    ready: /^\{"port":(\d+)\}$/m,
    // Two PGlite processes starting at once on a loaded machine have been seen to need over 60 s.
    timeoutMs: 110_000,
  })
  return { baseUrl: `http://127.0.0.1:${server.readyMatch![1]}`, stop: async () => void (await server.stop()) }
}
