// An embedded database's folder belongs to one process, and only to its owner: a second process on
// the same folder would lose acknowledged writes, and other local users could read the data.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql, type Kysely } from 'kysely'
import { afterAll, describe, expect, onTestFinished, test } from 'vitest'
import { createDatabase, DataDirLockedError } from '../src/index.js'
import { lockDataDir } from '../src/extend.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const holder = fileURLToPath(new URL('./fixtures/data-dir-holder.ts', import.meta.url))
// PGlite starts in seconds, and in tens of seconds on a loaded CI machine.
const SLOW = { timeout: 300_000 }

const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fastkit-data-dir-'))
  dirs.push(dir)
  return dir
}

interface Holder {
  readonly child: ChildProcess
  readonly pid: number
  output(): string
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | string>
  /** Resolves with the first line matching `pattern`; rejects if the process exits first. */
  line(pattern: RegExp): Promise<string>
}

function spawnHolder(mode: 'open' | 'lock', dir: string, env: Record<string, string> = {}): Holder {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@fastkit/source', holder, mode, dir], {
    cwd: packageDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const listeners = new Set<() => void>()
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
    listeners.forEach((l) => l())
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  return {
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = output.split('\n').find((l) => pattern.test(l))
          if (match !== undefined) {
            listeners.delete(check)
            resolve(match)
          }
        }
        listeners.add(check)
        check()
        void exited.then((code) => reject(new Error(`holder exited (${code}) before printing ${pattern}:\n${output}`)))
      }),
  }
}

/** The pid of a process that has just ended: what a crash leaves in a lock file. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

function capture() {
  const warnings: string[] = []
  return { warnings, logger: { warn: (message: string) => void warnings.push(message) } }
}

/** Every folder and file under `dir` (itself included) with its permission bits. */
function modes(dir: string): { entry: string; mode: number }[] {
  const out: { entry: string; mode: number }[] = []
  const visit = (entry: string) => {
    const stat = lstatSync(entry)
    out.push({ entry, mode: stat.mode & 0o777 })
    if (stat.isDirectory()) for (const name of readdirSync(entry)) visit(path.join(entry, name))
  }
  visit(dir)
  return out
}

describe('a PGlite data folder is open in one process at a time', () => {
  test('a second process exits non-zero at once, naming the folder and the holder; once the holder stops, the folder is free', SLOW, async () => {
    const dir = path.join(tempDir(), 'db')
    const first = spawnHolder('open', dir)
    const t0 = Date.now()
    const step = (what: string) => console.info(`[data-dir] ${Date.now() - t0} ms: ${what}`)
    const watchdog = setInterval(() => step(`waiting; first: ${JSON.stringify(first.output())}`), 60_000)
    onTestFinished(() => clearInterval(watchdog))
    await first.line(/^ready /)
    step('first ready')

    const startedAt = Date.now()
    const second = spawnHolder('open', dir)
    const code = await second.exited
    step(`second exited ${code}`)
    const elapsed = Date.now() - startedAt
    expect(code).not.toBe(0)
    expect(second.output()).toContain(`The data folder ${dir} is in use by another process (pid ${first.pid})`)
    expect(second.output()).not.toMatch(/^ready/m)
    // "At once": refused before PGlite would even load (a start takes seconds).
    console.info(`second process refused after ${elapsed} ms (process start included)`)

    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    step('first exited')
    expect(existsSync(path.join(dir, 'fastkit.lock'))).toBe(false)

    // Free again: the next process gets it (opening PGlite on it is the stale-lock test's business).
    const next = lockDataDir(dir)
    expect(readFileSync(next.file, 'utf8').trim()).toBe(String(process.pid))
    next.release()
  })

  test('the lock of a killed process is stale: the next open takes it over, and the logger says so', SLOW, async () => {
    const dir = path.join(tempDir(), 'db')
    const crashed = spawnHolder('open', dir)
    await crashed.line(/^ready /)
    crashed.child.kill('SIGKILL')
    await crashed.exited
    expect(readFileSync(path.join(dir, 'fastkit.lock'), 'utf8').trim()).toBe(String(crashed.pid))

    const { warnings, logger } = capture()
    const db = createDatabase<any>({ url: `pglite://${dir}`, logger })
    try {
      expect(warnings).toEqual([`Took over the stale lock on ${dir}: the process that held it (pid ${crashed.pid}) is gone`])
      expect(readFileSync(path.join(dir, 'fastkit.lock'), 'utf8').trim()).toBe(String(process.pid))
      const rows = await sql<{ body: string }>`select body from notes`.execute(db)
      expect(rows.rows).toEqual([{ body: `from ${crashed.pid}` }])
    } finally {
      await db.destroy()
    }
    expect(existsSync(path.join(dir, 'fastkit.lock'))).toBe(false)
  })

  test('processes racing to take over one stale lock: exactly one gets it, the others are refused with its pid', SLOW, async () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, 'fastkit.lock'), `${await deadPid()}\n`)
    const racers = Array.from({ length: 4 }, () => spawnHolder('lock', dir, { HOLD_MS: '4000' }))
    const lines = await Promise.all(racers.map((r) => r.line(/^(locked|refused) /)))
    const winners = racers.filter((_, i) => lines[i]!.startsWith('locked'))
    expect(winners).toHaveLength(1)
    for (const line of lines.filter((l) => l.startsWith('refused'))) expect(line).toBe(`refused ${winners[0]!.pid}`)
    await Promise.all(racers.map((r) => r.exited))
  })

  test('a lock file that holds no pid (a torn write by some other tool) counts as stale', () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, 'fastkit.lock'), 'garbage')
    const { warnings, logger } = capture()
    const lock = lockDataDir(dir, { logger })
    expect(warnings).toHaveLength(1)
    expect(readFileSync(lock.file, 'utf8').trim()).toBe(String(process.pid))
    lock.release()
    lock.release()
    expect(existsSync(lock.file)).toBe(false)
  })

  test('the same folder twice in one process is refused until the first database is destroyed', SLOW, async () => {
    const dir = path.join(tempDir(), 'db')
    const first = createDatabase<any>(`pglite://${dir}`)
    let second: Kysely<any> | undefined
    try {
      await sql`select 1`.execute(first)
      let error: unknown
      try {
        createDatabase<any>(`pglite://${dir}`)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(DataDirLockedError)
      expect(error).toMatchObject({ dir, pid: process.pid, code: 'DATA_DIR_LOCKED' })
      expect((error as Error).message).toContain(`${dir} is already open in this process`)
      await first.destroy()
      second = createDatabase<any>(`pglite://${dir}`)
      expect((await sql<{ one: number }>`select 1 as one`.execute(second)).rows).toEqual([{ one: 1 }])
    } finally {
      await first.destroy()
      await second?.destroy()
    }
  })
})

describe('a PGlite data folder is private to its owner', () => {
  test('after writes and a restart, no folder or file under it is readable or writable by group or others', SLOW, async () => {
    const parent = tempDir()
    const dir = path.join(parent, 'data', 'db') // neither exists yet: fastkit creates both
    for (const round of [1, 2]) {
      const db = createDatabase<any>(`pglite://${dir}`)
      try {
        // New tables and indexes mean new relation files, written after PGlite's start.
        await sql.raw(`create table t${round} (id serial primary key, body text)`).execute(db)
        await sql.raw(`create index t${round}_body on t${round} (body)`).execute(db)
        await sql.raw(`insert into t${round} (body) select 'row ' || g from generate_series(1, 500) g`).execute(db)
      } finally {
        await db.destroy()
      }
    }
    const all = modes(path.join(parent, 'data'))
    expect(all.length).toBeGreaterThan(100)
    expect(all.filter((e) => e.mode & 0o077)).toEqual([])
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(path.join(parent, 'data')).mode & 0o777).toBe(0o700)
  })

  test('an existing folder that others can read is tightened, and the logger says so', SLOW, async () => {
    const dir = path.join(tempDir(), 'db')
    mkdirSync(dir, { mode: 0o755 })
    chmodSync(dir, 0o755)
    writeFileSync(path.join(dir, 'notes.txt'), 'left by an older version', { mode: 0o644 })
    chmodSync(path.join(dir, 'notes.txt'), 0o644)
    const { warnings, logger } = capture()
    const db = createDatabase<any>({ url: `pglite://${dir}`, logger })
    try {
      await sql`select 1`.execute(db)
      expect(warnings).toEqual([
        `Made the data folder ${dir} private: its mode was 0755, readable by other users; it is now 0700`,
        `Made 1 entry under ${dir} private (files 0600, folders 0700): other users could read them`,
      ])
      expect(statSync(dir).mode & 0o777).toBe(0o700)
      expect(statSync(path.join(dir, 'notes.txt')).mode & 0o777).toBe(0o600)
    } finally {
      await db.destroy()
    }
  })
})
