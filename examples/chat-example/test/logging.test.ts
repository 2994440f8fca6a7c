import { describe, expect, test } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * Runs a process that logs `lines` lines through the chat's logger (stdout a pipe, as under a log
 * collector), waits for `flushed` and exits with process.exit, as main.ts does after a shutdown.
 */
async function logThenExit(nodeEnv: string, lines: number): Promise<string[]> {
  const script = `
    const { createLogger, flushed } = await import('./src/logging.ts')
    const log = await createLogger(process.env, false)
    for (let i = 0; i < ${lines}; i++) log.info({ i }, 'line ' + i)
    log.info('stopped')
    await flushed(log)
    process.exit(0)
  `
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: exampleDir,
    env: { ...process.env, NODE_ENV: nodeEnv, LOG_LEVEL: 'info' },
    maxBuffer: 64 * 1024 * 1024,
  })
  return stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg)
}

describe('the chat logger (README, "In production")', () => {
  test('in production the asynchronous JSON lines all arrive, in order, when the process exits right after flushed()', async () => {
    const messages = await logThenExit('production', 20_000)
    expect(messages).toHaveLength(20_001)
    expect(messages[0]).toBe('line 0')
    expect(messages[19_999]).toBe('line 19999')
    expect(messages.at(-1)).toBe('stopped')
  })

  test('in production a lone line on a quiet server is written within a fraction of a second, not held until more follow', async () => {
    const script = `
      const { createLogger } = await import('./src/logging.ts')
      const log = await createLogger(process.env, false)
      log.info('alone')
      setTimeout(() => {}, 5_000)
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: exampleDir,
      env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const started = performance.now()
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))
        child.once('exit', (code) => reject(new Error(`exited (${code}) before writing`)))
      })
      // tsx's start-up is most of it; the line waited at most the 200 ms flush interval.
      expect(performance.now() - started).toBeLessThan(4_000)
      expect((JSON.parse(line) as { msg: string }).msg).toBe('alone')
      expect(child.exitCode).toBeNull()
    } finally {
      child.kill()
    }
  })

  test('outside production the lines are written as they are logged, the same JSON', async () => {
    const messages = await logThenExit('test', 100)
    expect(messages).toHaveLength(101)
    expect(messages.at(-1)).toBe('stopped')
  })
})
