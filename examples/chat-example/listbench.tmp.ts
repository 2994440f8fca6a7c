import { CamelCasePlugin, sql } from 'kysely'
import { createTestDatabase } from 'fastkit/testing'
import { buildApp } from './src/app.js'
import { migrationsFolder } from './src/db/database.js'
import { testConfig } from './test/support/chat-app.js'
const t = await createTestDatabase<any>('postgres', { migrations: { folder: migrationsFolder }, database: { plugins: [new CamelCasePlugin()] } })
const app = await buildApp({ config: testConfig(t.url), db: t.db, fastify: { logger: false } })
await app.ready()
await app.inject({ method: 'POST', url: '/auth/register', payload: { username: 'alice_lb', password: 'correct horse battery' } })
const login = (await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice_lb', password: 'correct horse battery' } })).json()
const auth = { authorization: `Bearer ${login.accessToken ?? login.access_token}` }
const chat = (await app.inject({ method: 'POST', url: '/chats', headers: auth, payload: { name: 'c' } })).json()
const [u] = (await sql<any>`select id from users limit 1`.execute(t.db)).rows
await sql`insert into messages (chat_id, sender_id, text, created_at, updated_at) select ${chat.id}::uuid, ${u.id}::uuid, 'message number ' || i, now() - make_interval(secs => 100000 - i), now() - make_interval(secs => 100000 - i) from generate_series(1, 20000) i`.execute(t.db)
await sql`analyze`.execute(t.db)
const url = `/messages?chatId=${chat.id}&limit=50`
const run = async (n: number) => { for (let i = 0; i < n; i++) { const r = await app.inject({ method: 'GET', url, headers: auth }); if (r.statusCode !== 200) throw new Error(r.body) } }
await run(500)
const results: number[] = []
for (let round = 0; round < 5; round++) {
  const before = process.cpuUsage(); await run(1000); const used = process.cpuUsage(before)
  results.push((used.user + used.system) / 1000)
}
results.sort((a, b) => a - b)
console.log('list CPU µs/req (median of 5 × 1000):', results[2]!.toFixed(0))
await app.close(); await t.destroy()
