import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { processWarningLogger, type DatabaseLogger } from './database-logger.js'

/** Permission bits of group and others. */
const SHARED_BITS = 0o077

/**
 * Makes `dir` a folder only its owner can enter: creates it (and missing parents) with mode 0700, or
 * tightens an existing one that group or others could read, write or enter, and `logger` says so.
 * Returns the absolute path. Message texts and password hashes live in such folders: on a shared
 * machine, any local user could otherwise read them.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto'
 * import { writeFileSync } from 'node:fs'
 * import path from 'node:path'
 * const dataDir = ensurePrivateDir(process.env.DATA_DIR ?? '.data')
 * writeFileSync(path.join(dataDir, 'secret'), randomBytes(32).toString('base64url'), { mode: 0o600 })
 * ```
 */
export function ensurePrivateDir(dir: string, options: { logger?: DatabaseLogger } = {}): string {
  const absolute = path.resolve(dir)
  let mode: number
  try {
    const stat = statSync(absolute)
    if (!stat.isDirectory()) throw new Error(`${absolute} is not a directory`)
    mode = stat.mode & 0o777
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    mkdirSync(absolute, { recursive: true, mode: 0o700 })
    chmodSync(absolute, 0o700) // whatever the umask
    return absolute
  }
  if (mode & SHARED_BITS) {
    chmodSync(absolute, 0o700)
    ;(options.logger ?? processWarningLogger).warn(
      `Made the data folder ${absolute} private: its mode was ${octal(mode)}, readable by other users; it is now 0700`,
    )
  }
  return absolute
}

/**
 * Takes group and other permissions off everything under `dir` (files keep their owner's bits, so a
 * 0666 file becomes 0600, a 0755 folder 0700). Symbolic links are not followed. Returns how many
 * entries it changed.
 *
 * @example
 * ```ts
 * const loosened = makeTreePrivate('./data') // 0 when every file was private already
 * ```
 */
export function makeTreePrivate(dir: string): number {
  let changed = 0
  const visit = (entry: string) => {
    try {
      const stat = lstatSync(entry)
      if (stat.isSymbolicLink()) return
      if (stat.mode & SHARED_BITS) {
        chmodSync(entry, stat.mode & 0o700)
        changed++
      }
      if (stat.isDirectory()) for (const name of readdirSync(entry)) visit(path.join(entry, name))
    } catch (error) {
      // A running database removes files (old WAL segments, temporary files) while we walk.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  visit(path.resolve(dir))
  return changed
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`
}
