import pg from 'pg'

/**
 * Says plainly which half of the database matrix runs, and fails fast when the PostgreSQL half was
 * asked for (TEST_DATABASE_URL set) but the server does not answer.
 */
export default async function setup(): Promise<void> {
  if (!process.env.TEST_REDIS_URL) {
    console.warn(
      '\n[fastkit] TEST_REDIS_URL is not set: tests of event delivery through Redis did NOT run.\n' +
        '          Run with `TEST_REDIS_URL=redis://127.0.0.1:6379` to include them.\n',
    )
  }
  const url = process.env.TEST_DATABASE_URL
  const dialects = process.env.DIALECTS ?? 'postgres,pglite'
  if (!url) {
    if (dialects.includes('postgres')) {
      console.warn(
        '\n[fastkit] TEST_DATABASE_URL is not set: the PostgreSQL half of the test matrix did NOT run; only PGlite did.\n' +
          '          Run `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm test` for both.\n',
      )
    }
    return
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  try {
    await client.connect()
    await client.query('select 1')
  } catch (error) {
    throw new Error(`TEST_DATABASE_URL=${url} does not answer: ${(error as Error).message}`)
  } finally {
    await client.end().catch(() => {})
  }
  console.log(`[fastkit] database matrix: ${dialects} (PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')})`)
}
