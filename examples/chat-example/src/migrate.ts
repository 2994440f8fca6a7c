import { loadConfig } from './config.js'
import { migrate, openDatabase } from './db/database.js'

/**
 * `pnpm --filter chat-example migrate`: applies pending migrations and exits. On PGlite it refuses,
 * exit code 1, while a server holds `DATA_DIR` (the message names the folder and the server's pid).
 */
try {
  const config = loadConfig()
  const db = openDatabase(config.databaseUrl)
  try {
    const { results } = await migrate(db)
    for (const r of results ?? []) console.log(`${r.status}: ${r.migrationName}`)
    if (!results?.length) console.log('Nothing to migrate')
  } finally {
    await db.destroy()
  }
} catch (error) {
  console.error(error instanceof Error ? `migrate failed: ${error.message}` : error)
  process.exitCode = 1
}
