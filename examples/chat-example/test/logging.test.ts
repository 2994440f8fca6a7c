import { describe, expect, test } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * Runs a process that logs `lines` lines through the chat's logger (stdout a pipe, as under a log
 * collector) and exits at once with process.exit, as main.ts does after a shutdown.
 */
async function logThenExit(nodeEnv: string, lines: number): Promise<string[]> {
  const script = `
    const { createLogger } = await import('./src/logging.ts')
    const log = await createLogger(process.env, false)
    for (let i = 0; i < ${lines}; i++) log.info({ i }, 'line ' + i)
    log.info('stopped')
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
  test('in production the asynchronous JSON lines all arrive, in order, even when the process exits right after writing them', async () => {
    const messages = await logThenExit('production', 20_000)
    expect(messages).toHaveLength(20_001)
    expect(messages[0]).toBe('line 0')
    expect(messages[19_999]).toBe('line 19999')
    expect(messages.at(-1)).toBe('stopped')
  })

  test('outside production the lines are written as they are logged, the same JSON', async () => {
    const messages = await logThenExit('test', 100)
    expect(messages).toHaveLength(101)
    expect(messages.at(-1)).toBe('stopped')
  })
})
