import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { closeGracefully, databaseKind } from 'fastkit'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { migrate, openDatabase } from './db/database.js'
import { createLogger, flushed, OneLinePerRequest } from './logging.js'

/** How long the requests in flight get to finish after SIGINT/SIGTERM before they are cut. */
const SHUTDOWN_DEADLINE_MS = 10_000

/**
 * Starts the chat, saying what it does: config, database, migrations, app, listen, then one line a
 * person reads. On SIGINT (Ctrl-C) or SIGTERM it drains and closes cleanly and exits 0.
 */
async function main(): Promise<void> {
  const startedAt = performance.now()
  const seconds = () => ((performance.now() - startedAt) / 1000).toFixed(1)
  const log = await createLogger()
  let stop = (signal: NodeJS.Signals): void => {
    log.info(`${signal} during start-up: exiting`)
    process.exit(0)
  }
  // `on`, not `once`: in a terminal, Ctrl-C reaches this process both from the terminal and from the
  // pnpm above it; a second SIGINT must not fall through to Node's default (exit 130 mid-shutdown).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal))

  const config = loadConfig()
  const database = describeDatabase(config.databaseUrl)
  log.info(`opening the database: ${database}`)
  const db = openDatabase(config.databaseUrl)
  await sql`select 1`.execute(db)
  log.info(`database open (${seconds()} s); migrating`)
  const { results } = await migrate(db)
  log.info(results?.length ? `applied ${results.map((r) => r.migrationName).join(', ')}` : 'migrations: up to date')

  const app = await buildApp({ config, db, fastify: { loggerInstance: log, logController: new OneLinePerRequest(), forceCloseConnections: 'idle' } })
  if (config.jwtSecretSource === 'generated') {
    log.warn(`JWT_SECRET is not set: generated a secret and saved it in ${config.dataDir}/jwt-secret (set JWT_SECRET in production)`)
  } else if (config.jwtSecretSource === 'file') {
    log.info(`JWT_SECRET is not set: using the secret kept in ${config.dataDir}/jwt-secret`)
  }

  let stopping = false
  stop = (signal) => {
    if (stopping) return
    stopping = true
    log.info(`${signal}: shutting down (requests in flight get ${SHUTDOWN_DEADLINE_MS / 1000} s)`)
    // Whatever hangs (a plugin's onClose, the database), the process still ends.
    setTimeout(() => {
      log.error('shutdown did not finish in time: exiting')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS + 5_000).unref()
    closeGracefully(app, { deadlineMs: SHUTDOWN_DEADLINE_MS })
      .then(async ({ drained, cutRequests }) => {
        await db.destroy()
        log.info(drained ? 'stopped' : `stopped; ${cutRequests} requests were cut at the deadline`)
        await flushed(log)
        process.exit(0)
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  }

  const address = await app.listen({ port: config.port, host: config.host })
  log.info(
    { startupMs: Math.round(performance.now() - startedAt) },
    `chat example ready in ${seconds()} s: ${address} (API docs: ${address}/docs), database: ${database}, events: ${app.events.transport.name}`,
  )
}

/** Where the data lives, for a person: the PGlite folder, or the server without its password. */
function describeDatabase(url: string): string {
  if (databaseKind(url) === 'pglite') return `embedded PGlite in ${url.replace(/^pglite:\/\//, '')}`
  const parsed = new URL(url)
  return `PostgreSQL at ${parsed.host}${parsed.pathname}`
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `fastkit chat example failed to start: ${error.message}` : error)
  process.exit(1)
})
