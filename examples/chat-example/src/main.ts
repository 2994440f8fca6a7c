import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { migrate, openDatabase } from './db/database.js'

/** Starts the chat: config, database + migrations, app, listen; closes cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig()
  const db = openDatabase(config.databaseUrl)
  await migrate(db)
  const app = await buildApp({ config, db, fastify: { logger: { level: process.env.LOG_LEVEL ?? 'info' } } })
  if (config.jwtSecretSource === 'generated') {
    app.log.warn(`JWT_SECRET is not set: generated a secret and saved it in ${config.dataDir}/jwt-secret (set JWT_SECRET in production)`)
  } else if (config.jwtSecretSource === 'file') {
    app.log.info(`JWT_SECRET is not set: using the secret kept in ${config.dataDir}/jwt-secret`)
  }
  const where = config.databaseUrl.startsWith('pglite://') ? `embedded PGlite at ${config.databaseUrl.slice(9)}` : 'PostgreSQL'
  app.log.info(`database: ${where}`)
  let closing = false
  const close = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info(`${signal}: shutting down`)
    await app.close()
    await db.destroy()
    process.exit(0)
  }
  process.once('SIGINT', () => void close('SIGINT'))
  process.once('SIGTERM', () => void close('SIGTERM'))
  await app.listen({ port: config.port, host: config.host })
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `fastkit chat example failed to start: ${error.message}` : error)
  process.exit(1)
})
