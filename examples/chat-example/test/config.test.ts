import { afterAll, describe, expect, test } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { loadConfig, MIN_SECRET_LENGTH } from '../src/config.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
const strong = 'x'.repeat(MIN_SECRET_LENGTH)

describe('configuration (chat-api.md, "Running it")', () => {
  const dirs: string[] = []
  const dataDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chat-config-'))
    dirs.push(dir)
    return dir
  }
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  test('without DATABASE_URL the data lives in an embedded PGlite under DATA_DIR; with it, that server', () => {
    const dir = dataDir()
    expect(loadConfig({ DATA_DIR: dir, JWT_SECRET: strong }).databaseUrl).toBe(`pglite://${path.join(dir, 'db')}`)
    expect(loadConfig({ DATA_DIR: dir, JWT_SECRET: strong, DATABASE_URL: 'postgres://u@h/db' }).databaseUrl).toBe('postgres://u@h/db')
    expect(loadConfig({ DATA_DIR: dir, JWT_SECRET: strong })).toMatchObject({ port: 3000, host: '127.0.0.1', redisUrl: undefined })
  })

  test('outside production an unset JWT_SECRET is generated once, kept in DATA_DIR (0600) and reused', () => {
    const dir = dataDir()
    const first = loadConfig({ DATA_DIR: dir })
    expect(first.jwtSecretSource).toBe('generated')
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH)
    const file = path.join(dir, 'jwt-secret')
    expect(readFileSync(file, 'utf8')).toBe(first.jwtSecret)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const second = loadConfig({ DATA_DIR: dir })
    expect(second).toMatchObject({ jwtSecret: first.jwtSecret, jwtSecretSource: 'file' })
  })

  test('in production an unset or weak JWT_SECRET stops the start with a clear message', () => {
    const dir = dataDir()
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dir })).toThrow(/JWT_SECRET is required in production/)
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dir, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET is too weak/)
    expect(loadConfig({ NODE_ENV: 'production', DATA_DIR: dir, JWT_SECRET: strong })).toMatchObject({ production: true, jwtSecretSource: 'env' })
  })

  test('a weak JWT_SECRET is refused outside production too; a bad PORT is refused', () => {
    const dir = dataDir()
    expect(() => loadConfig({ DATA_DIR: dir, JWT_SECRET: 'short' })).toThrow(/at least 32 characters/)
    expect(() => loadConfig({ DATA_DIR: dir, JWT_SECRET: strong, PORT: 'eighty' })).toThrow(/PORT must be a port number/)
  })

  test('the real server process exits non-zero with that message in production without a secret', { timeout: 60_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir() }
    delete env.JWT_SECRET
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=@fastkit/source', 'src/main.ts'], {
      cwd: exampleDir,
      env,
      timeout: 50_000,
    })
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/failed to start: JWT_SECRET is required in production/) })
  })

  test('a relative DATA_DIR is taken from where the command ran (INIT_CWD under pnpm), and git ignores it', () => {
    const cwd = dataDir()
    const config = loadConfig({ INIT_CWD: cwd, DATA_DIR: 'chat-data' })
    expect(config.dataDir).toBe(path.join(cwd, 'chat-data'))
    expect(config.databaseUrl).toBe(`pglite://${path.join(cwd, 'chat-data', 'db')}`)
    expect(readFileSync(path.join(cwd, 'chat-data', '.gitignore'), 'utf8')).toMatch(/^\*$/m)
    expect(loadConfig({ INIT_CWD: cwd, JWT_SECRET: strong }).dataDir).toBe(path.join(cwd, '.data'))
  })
})
