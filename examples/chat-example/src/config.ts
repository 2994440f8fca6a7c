import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ensurePrivateDir } from 'fastkit'

/** Everything the chat example reads from its environment. */
export interface ChatConfig {
  readonly port: number
  readonly host: string
  /** `postgres://…`, or `pglite://<DATA_DIR>` when DATABASE_URL is unset. */
  readonly databaseUrl: string
  /** `DATA_DIR`, resolved against the folder the command ran in (`INIT_CWD` under pnpm/npm). */
  readonly dataDir: string
  readonly redisUrl: string | undefined
  readonly jwtSecret: string
  /** Where the JWT secret came from, for the start-up log. */
  readonly jwtSecretSource: 'env' | 'generated' | 'file'
  readonly production: boolean
  /** Browser origins allowed to open `/ws` (`ALLOWED_ORIGINS`, comma-separated). */
  readonly allowedOrigins: readonly string[]
}

/** The shortest JWT secret accepted in production (HS256 wants at least 256 bits). */
export const MIN_SECRET_LENGTH = 32

/**
 * Reads the configuration. Outside production an unset `JWT_SECRET` is generated once and kept in
 * `DATA_DIR/jwt-secret`, so tokens survive a restart; in production an unset or weak secret throws.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ChatConfig {
  const production = env.NODE_ENV === 'production'
  // Relative to where the user ran the command: `pnpm --filter chat-example start` runs the script in
  // the example's folder, but pnpm (like npm) keeps the caller's folder in INIT_CWD.
  const dataDir = path.resolve(env.INIT_CWD ?? process.cwd(), env.DATA_DIR || '.data')
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`)
  const databaseUrl = env.DATABASE_URL || `pglite://${path.join(dataDir, 'db')}`
  // DATA_DIR holds the embedded database and the generated JWT secret: 0700, tightened (and logged) if
  // other users could read it.
  if (!env.DATABASE_URL || !env.JWT_SECRET) ensurePrivateDir(dataDir)
  let jwtSecret = env.JWT_SECRET
  let jwtSecretSource: ChatConfig['jwtSecretSource'] = 'env'
  if (!jwtSecret || jwtSecret.length < MIN_SECRET_LENGTH) {
    if (production) {
      throw new Error(
        jwtSecret
          ? `JWT_SECRET is too weak: use at least ${MIN_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`)`
          : 'JWT_SECRET is required in production (e.g. `openssl rand -base64 48`)',
      )
    }
    if (jwtSecret) throw new Error(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`)
    const file = path.join(dataDir, 'jwt-secret')
    if (existsSync(file)) {
      jwtSecret = readFileSync(file, 'utf8').trim()
      jwtSecretSource = 'file'
    } else {
      keepOutOfGit(dataDir)
      jwtSecret = randomBytes(48).toString('base64url')
      writeFileSync(file, jwtSecret, { mode: 0o600 })
      jwtSecretSource = 'generated'
    }
  }
  if (!env.DATABASE_URL) keepOutOfGit(dataDir)
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    databaseUrl,
    dataDir,
    redisUrl: env.REDIS_URL || undefined,
    jwtSecret,
    jwtSecretSource,
    production,
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
  }
}

/**
 * Creates the data folder with a `.gitignore` of `*` in it, so whatever folder `DATA_DIR` names, inside
 * a repository or not, its database and secret are never committed.
 */
function keepOutOfGit(dataDir: string): void {
  const ignore = path.join(dataDir, '.gitignore')
  // 0600 like everything else in DATA_DIR (created by ensurePrivateDir above).
  if (!existsSync(ignore)) writeFileSync(ignore, '# Written by the chat example: this folder holds data, not source.\n*\n', { mode: 0o600 })
}
