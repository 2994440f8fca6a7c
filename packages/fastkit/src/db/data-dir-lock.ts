import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { processWarningLogger, type DatabaseLogger } from './database-logger.js'

/**
 * Thrown when a data folder is already open in another live process (or elsewhere in this one).
 * Two PGlite instances on one folder each keep their own copy of the database in memory and overwrite
 * each other's files: acknowledged writes of one are lost at the next restart.
 *
 * @example
 * ```ts
 * try { createDatabase<DB>('pglite://./data') } catch (e) {
 *   if (e instanceof DataDirLockedError) console.error(`${e.dir} is in use by pid ${e.pid}`)
 * }
 * ```
 */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED'
  constructor(
    /** The data folder (absolute). */
    readonly dir: string,
    /** The process holding it. */
    readonly pid: number,
  ) {
    super(
      pid === process.pid
        ? `The data folder ${dir} is already open in this process (pid ${pid}); destroy the other database first`
        : `The data folder ${dir} is in use by another process (pid ${pid}); stop it first, or use another folder`,
    )
    this.name = 'DataDirLockedError'
  }
}

/**
 * An exclusive hold on a data folder, taken by {@link lockDataDir}.
 *
 * @example
 * ```ts
 * const lock = lockDataDir('./data')
 * try {
 *   // … use ./data …
 * } finally {
 *   lock.release()
 * }
 * ```
 */
export interface DataDirLock {
  /** The lock file: `<dir>/fastkit.lock`, holding the owner's pid. */
  readonly file: string
  /** Removes the lock file (if it is still ours). Idempotent. */
  release(): void
}

/** The name of the lock file inside a data folder. */
export const LOCK_FILE = 'fastkit.lock'

/** Folders this process holds: a pid in a lock file equal to ours is only ours if it is listed here. */
const heldHere = new Set<string>()

/**
 * Takes the data folder `dir` (which must exist) for this process, synchronously: creates
 * `<dir>/fastkit.lock` holding the pid, atomically (the file appears with its content, or not at all).
 * If another live process holds it, throws {@link DataDirLockedError}. A lock whose process is gone
 * (a crash, a kill -9, a container restart) is taken over, and `logger` says so.
 *
 * The liveness test is `kill(pid, 0)` on this machine: a folder shared between machines (NFS) or a pid
 * reused by an unrelated process can defeat it, in the direction of refusing to start, never of two
 * writers. The lock is released by {@link DataDirLock.release} and, failing that, when the process exits.
 *
 * @example
 * ```ts
 * const lock = lockDataDir('/var/lib/app/db', { logger: app.log })
 * ```
 */
export function lockDataDir(dir: string, options: { logger?: DatabaseLogger } = {}): DataDirLock {
  const absolute = path.resolve(dir)
  const file = path.join(absolute, LOCK_FILE)
  const logger = options.logger ?? processWarningLogger
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(file)) break
    const holder = readHolder(file)
    if (holder === undefined) continue // removed between our attempt and the read: try again
    if (isAlive(holder) && (holder !== process.pid || heldHere.has(file))) throw new DataDirLockedError(absolute, holder)
    if (takeOver(file, holder)) {
      logger.warn(`Took over the stale lock on ${absolute}: the process that held it (pid ${holder}) is gone`)
      break
    }
    // Another process took it over first, or is doing so right now: look again.
    if (attempt > 200) throw new DataDirLockedError(absolute, readHolder(file) ?? holder)
    sleepSync(10)
  }
  heldHere.add(file)
  let released = false
  const release = () => {
    if (released) return
    released = true
    heldHere.delete(file)
    process.off('exit', release)
    if (readHolder(file) === process.pid) unlinkQuietly(file)
  }
  // A process that ends without destroying its database leaves no lock behind.
  process.on('exit', release)
  return { file, release }
}

/** Creates the lock file holding our pid, or returns false when it exists. */
function createExclusive(file: string): boolean {
  const temp = writeTemp(file)
  try {
    // link() fails with EEXIST atomically, and the file it makes already holds the pid: no reader can
    // see an empty lock file (as it could between open('wx') and write()).
    linkSync(temp, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkQuietly(temp)
  }
}

/**
 * Replaces a stale lock (still holding `stalePid`) by ours. A guard file makes the check-and-replace
 * one step among processes taking over together; a guard older than a few seconds is itself stale.
 */
function takeOver(file: string, stalePid: number): boolean {
  const guard = `${file}.takeover`
  try {
    writeFileSync(guard, String(process.pid), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    try {
      if (Date.now() - statSync(guard).mtimeMs > 5_000) unlinkQuietly(guard)
    } catch {
      // gone already
    }
    return false
  }
  try {
    if (readHolder(file) !== stalePid) return false
    renameSync(writeTemp(file), file) // atomic replace: readers see the old pid or ours
    return true
  } finally {
    unlinkQuietly(guard)
  }
}

function writeTemp(file: string): string {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`
  writeFileSync(temp, `${process.pid}\n`, { flag: 'wx', mode: 0o600 })
  return temp
}

/** The pid in the lock file; `undefined` if there is none. Garbage counts as a dead holder (pid 0). */
function readHolder(file: string): number | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const pid = Number(text.trim())
  return Number.isInteger(pid) && pid > 0 ? pid : 0
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file)
  } catch {
    // already gone
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
