import { loadConfig } from './config.js'
import { migrate, openDatabase } from './db/database.js'

/** `pnpm --filter chat-example migrate`: applies pending migrations and exits. */
const config = loadConfig()
const db = openDatabase(config.databaseUrl)
try {
  const { results } = await migrate(db)
  for (const r of results ?? []) console.log(`${r.status}: ${r.migrationName}`)
  if (!results?.length) console.log('Nothing to migrate')
} finally {
  await db.destroy()
}
