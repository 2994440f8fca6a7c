import { afterAll, describe, expect, test } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from 'fastkit/testing'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

/** The pnpm the README tells people to run (`npx -y pnpm@12.4.2`), as a path: npx's own layer is not under test. */
function pnpmBinary(): string {
  return execFileSync('npm', ['exec', '--yes', '--package=pnpm@12.4.2', '-c', 'command -v pnpm'], { cwd: repoRoot, encoding: 'utf8' }).trim()
}

describe('Ctrl-C on `pnpm start` in a terminal', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chat-ctrl-c-'))
  let groupLeader: number | undefined
  afterAll(() => {
    try {
      if (groupLeader) process.kill(-groupLeader, 'SIGKILL')
    } catch {
      // already gone
    }
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('shuts the server down cleanly and exits 0, without pnpm failure lines', { timeout: 240_000 }, async () => {
    const pnpm = pnpmBinary()
    const port = await freePort()
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // The root script calls `pnpm` by name, as it finds it in a terminal.
      PATH: `${path.dirname(pnpm)}${path.delimiter}${process.env.PATH}`,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      REDIS_URL: '',
    }
    for (const name of ['DATABASE_URL', 'JWT_SECRET', 'NODE_ENV', 'INIT_CWD']) delete env[name]
    // Its own process group, as a terminal's foreground job.
    const child = spawn(pnpm, ['start'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    groupLeader = child.pid
    let output = ''
    child.stdout!.on('data', (chunk) => (output += chunk))
    child.stderr!.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    while (!/chat example ready in/.test(output)) {
      if (child.exitCode !== null) throw new Error(`pnpm start exited early:\n${output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)

    // A terminal's Ctrl-C: SIGINT to every process of the foreground group (pnpm, pnpm, node).
    process.kill(-child.pid!, 'SIGINT')
    const code = await exited
    groupLeader = undefined

    expect(code, output).toBe(0)
    // The group's SIGINT reaches node, and pnpm relays a SIGTERM to it as well: on a busy machine
    // that one may be handled first. Either way the shutdown is the same.
    expect(output).toMatch(/(SIGINT|SIGTERM): shutting down/)
    expect(output).toMatch(/"msg":"stopped"/)
    expect(output).not.toMatch(/ERR_PNPM|ELIFECYCLE/)
  })
})
