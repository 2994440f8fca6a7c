// Regenerates web/screenshot.png, the picture of the web client in the root README:
//   pnpm --filter chat-example screenshot
// Runs the real app (in-memory PGlite, the client built into a temp dir), seeds a short conversation
// over HTTP and photographs it in headless Chromium (/usr/bin/chromium or CHROMIUM_PATH) at 1280×720.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { MemoryTransport } from 'fastkit'
import { buildApp } from '../../src/app.js'
import { migrate, openDatabase } from '../../src/db/database.js'
import { launchChromium } from '../../test/support/browser.js'
import { buildWeb } from './build.js'

const OUT = fileURLToPath(new URL('../screenshot.png', import.meta.url))
const PASSWORD = 'correct horse battery staple'

const webRoot = await mkdtemp(path.join(tmpdir(), 'chat-web-'))
await buildWeb({ outDir: webRoot })
const db = openDatabase('memory://')
await migrate(db)
const app = await buildApp({
  config: {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: 'memory://',
    dataDir: tmpdir(),
    redisUrl: undefined,
    jwtSecret: 'screenshot-only-secret-0123456789-abcdefghijklmnop',
    jwtSecretSource: 'env',
    production: false,
    allowedOrigins: [],
  },
  db,
  transport: new MemoryTransport(),
  webRoot,
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
const browser = await launchChromium()
try {
  const call = async (method: string, url: string, payload?: object, token?: string) => {
    const res = await app.inject({ method: method as 'POST', url, payload, headers: token ? { authorization: `Bearer ${token}` } : {} })
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.json()
  }
  const users: Record<string, { id: string; token: string }> = {}
  for (const name of ['alice', 'bob', 'carol']) {
    const { id } = await call('POST', '/auth/register', { username: name, password: PASSWORD })
    users[name] = { id, token: (await call('POST', '/auth/login', { username: name, password: PASSWORD })).access_token }
  }
  const as = (name: string) => users[name]!.token
  await call('POST', '/chats', { name: 'Book club', memberIds: [users.carol!.id] }, as('alice'))
  const trip = await call('POST', '/chats', { name: 'Weekend trip', isGroup: true, memberIds: [users.bob!.id, users.carol!.id] }, as('alice'))
  for (const [who, text] of [
    ['alice', 'Saturday or Sunday for the hike?'],
    ['bob', 'Saturday works for me. Sunday looks rainy.'],
    ['carol', 'Saturday! I can drive, there is room for three.'],
    ['alice', 'Perfect. Meet at 8 at the station?'],
    ['bob', '8 it is. I will bring snacks.'],
  ] as const) {
    await call('POST', '/messages', { chatId: trip.id, text }, as(who))
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } })
  await page.goto(base)
  await page.getByLabel('Username').fill('alice')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('button', { name: 'Weekend trip' }).click()
  await page.getByText('I will bring snacks').waitFor()
  await page.locator('.connection[data-status="open"]').waitFor()
  await page.getByLabel('Message', { exact: true }).fill('See you there!')
  await page.screenshot({ path: OUT })
  console.log(`wrote ${OUT}`)
} finally {
  await browser.close()
  await app.close()
  await db.destroy()
  await rm(webRoot, { recursive: true, force: true })
}
