import { afterAll, describe, expect, test } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort, startServerProcess, type ServerProcess } from 'fastkit/testing'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
const repoRoot = path.resolve(exampleDir, '../..')

/** Starts the chat exactly as `pnpm start` does (node --import tsx src/main.ts), with no database configured. */
function startServer(port: number, dataDir: string): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' }
  delete env.DATABASE_URL
  delete env.JWT_SECRET
  delete env.REDIS_URL
  delete env.NODE_ENV
  return startServerProcess({
    args: ['--import', 'tsx', '--conditions=@fastkit/source', 'src/main.ts'],
    cwd: exampleDir,
    env,
    ready: { url: `http://127.0.0.1:${port}/health` },
    timeoutMs: 120_000,
  })
}

/** SIGTERM, then the exit code. */
const stopServer = async (server: ServerProcess) => (await server.stop('SIGTERM', 15_000)).code

/** The curl walk-through exactly as README.md prints it, pointed at `port`. */
function readmeWalkthrough(port: number): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)?.[1]
  if (!block) throw new Error('README.md has no walkthrough block')
  return block.replaceAll('http://localhost:3000', `http://127.0.0.1:${port}`)
}

describe('the README walk-through against the real server process on the embedded database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chat-e2e-'))
  const servers: ServerProcess[] = []
  afterAll(async () => {
    for (const server of servers) await stopServer(server)
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('works as printed, and the data survives a restart', { timeout: 300_000 }, async () => {
    const port = await freePort()
    const first = await startServer(port, dataDir)
    servers.push(first)
    expect(first.output()).toMatch(/JWT_SECRET is not set: generated a secret/)
    expect(first.output()).toMatch(/database: embedded PGlite/)

    // Run as printed, twice: the second run finds alice and bob registered (409) and still works.
    const run = async () => {
      const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', readmeWalkthrough(port)], { timeout: 60_000 })
      expect(stdout.endsWith('\n')).toBe(true) // every printed response ends its line
      return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    }
    const [alice, bob, posted, page, ...rest] = await run()
    expect(rest).toEqual([])
    expect(alice).toMatchObject({ username: 'alice' })
    expect(bob).toMatchObject({ username: 'bob' })
    expect(posted).toMatchObject({ text: 'hello, bob' })
    expect(page).toEqual({ items: [posted], nextCursor: null })

    const [aliceAgain, bobAgain, postedAgain, pageAgain, ...restAgain] = await run()
    expect(restAgain).toEqual([])
    expect(aliceAgain).toMatchObject({ status: 409, code: 'CONFLICT' })
    expect(bobAgain).toMatchObject({ status: 409, code: 'CONFLICT' })
    expect(postedAgain).toMatchObject({ text: 'hello, bob', senderId: alice!.id })
    expect(postedAgain!.chatId).not.toBe(posted!.chatId) // a second "general", with bob in it
    expect(pageAgain).toEqual({ items: [postedAgain], nextCursor: null })

    // One log line per request (not Fastify's two), and a start-up that says where everything is. The
    // line is written after the response is sent, so the second may still be on its way through the pipe.
    await first.waitForOutput(/("msg":"POST \/messages 201 [\d.]+ ms"[\s\S]*){2}/)
    expect(first.output().match(/"msg":"POST \/messages 201 [\d.]+ ms"/g)).toHaveLength(2)
    expect(first.output()).not.toMatch(/incoming request|request completed/)
    expect(first.output()).toMatch(new RegExp(`chat example ready in [\\d.]+ s: http://127.0.0.1:${port} \\(API docs: http://127.0.0.1:${port}/docs\\), database: embedded PGlite in .*, events: memory`))

    // Graceful stop, then a restart on the same data directory.
    expect(await stopServer(first)).toBe(0)
    const second = await startServer(port, dataDir)
    servers.push(second)
    expect(second.output()).toMatch(/using the secret kept in/)

    const login = await fetch(`http://127.0.0.1:${port}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'another long passphrase' }),
    })
    expect(login.status).toBe(200)
    const { access_token } = (await login.json()) as { access_token: string }
    const auth = { authorization: `Bearer ${access_token}` }
    const chats = (await (await fetch(`http://127.0.0.1:${port}/chats`, { headers: auth })).json()) as { items: { id: string; name: string }[] }
    expect(chats.items.map((c) => c.id).sort()).toEqual([posted!.chatId, postedAgain!.chatId].sort())
    expect(chats.items.map((c) => c.name)).toEqual(['general', 'general'])
    const messages = await (await fetch(`http://127.0.0.1:${port}/messages?chatId=${posted!.chatId}`, { headers: auth })).json()
    expect(messages).toEqual(page)
    expect(await stopServer(second)).toBe(0)
  })
})
