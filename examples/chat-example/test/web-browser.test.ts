// The web client in real Chromium (playwright-core): two people, two browser contexts, one running
// chat server on 127.0.0.1. Screenshots of each main screen at both widths go to web/artifacts/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { dialectsUnderTest, type TestDatabase } from 'fastkit/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import type { ChatConfig } from '../src/config.js'
import type { DB } from '../src/db/schema.js'
import { buildWeb } from '../web/tools/build.js'
import { browserAvailability, DESKTOP, launchChromium, PHONE } from './support/browser.js'
import { claimsFor, signJwt, testConfig, uniqueName } from './support/chat-app.js'
import { createChatDatabase } from './support/realtime-app.js'

/** What the tests read in the page (the test files compile without the DOM library). */
interface BrowserGlobals {
  localStorage: { getItem(key: string): string | null }
}

const ARTIFACTS = fileURLToPath(new URL('../web/artifacts/', import.meta.url))
/** Short-lived access tokens, so the client's refresh runs many times during the scenario. */
const TOKEN_TTL_SECONDS = 10
const PASSWORD = 'correct horse battery staple'

const availability = browserAvailability()

if (!availability.available && !availability.mustFail) {
  console.warn(`[web-browser] not run: ${availability.reason}`)
} else if (!availability.available) {
  test('Chromium is available for the browser tests (CI=true)', () => {
    throw new Error(`CI=true but ${availability.reason}`)
  })
} else {
  // One scenario in steps that build on each other (vitest runs a file's tests in order).
  describe.each(dialectsUnderTest())('the web client in Chromium on %s', { timeout: 90_000 }, (kind) => {
    let t: TestDatabase<DB>
    let app: FastifyInstance
    let base: string
    let webRoot: string
    let config: ChatConfig
    let browser: Browser
    const contexts: BrowserContext[] = []
    /** Problems the pages reported: uncaught errors, alert() dialogs, CSP violations. */
    const pageProblems: string[] = []
    /** API calls answered 401 other than a deliberate bad login: an expired token got through. */
    const unauthorized: string[] = []
    const refreshes: number[] = []

    const alice = { username: uniqueName('alice'), page: undefined as unknown as Page, context: undefined as unknown as BrowserContext }
    const bob = { username: uniqueName('bob'), page: undefined as unknown as Page, context: undefined as unknown as BrowserContext }

    async function newPerson(viewport: { width: number; height: number }) {
      const context = await browser.newContext({ viewport })
      contexts.push(context)
      const page = await context.newPage()
      page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`))
      page.on('dialog', (dialog) => {
        pageProblems.push(`dialog: ${dialog.message()}`)
        void dialog.dismiss()
      })
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) pageProblems.push(`csp: ${message.text()}`)
      })
      page.on('response', (response) => {
        const url = new URL(response.url())
        if (url.pathname === '/auth/refresh' && response.status() === 200) refreshes.push(Date.now())
        if (response.status() === 401 && url.pathname !== '/auth/login') unauthorized.push(`${response.request().method()} ${url.pathname}`)
      })
      return { context, page }
    }

    const shot = async (page: Page, name: string) => {
      const width = page.viewportSize()!.width
      await page.screenshot({ path: path.join(ARTIFACTS, `${kind}-${width}-${name}.png`) })
    }
    const log = (page: Page) => page.getByRole('log')
    const status = (page: Page) => page.locator('.connection').getAttribute('data-status')
    const tokenOf = (page: Page) => page.evaluate(() => JSON.parse((globalThis as unknown as BrowserGlobals).localStorage.getItem('chat.session')!).accessToken as string)
    /** The texts in the open chat's log, top to bottom. */
    const texts = (page: Page) => log(page).locator('li.message .text').allTextContents()

    async function register(person: typeof alice) {
      const { page } = person
      await page.goto(base)
      await page.getByLabel('Username').fill(person.username)
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Create account' }).click()
      await page.getByRole('button', { name: 'Log out' }).waitFor()
    }

    async function send(page: Page, text: string) {
      await page.getByLabel('Message', { exact: true }).fill(text)
      await page.getByRole('button', { name: 'Send' }).click()
    }

    beforeAll(async () => {
      await mkdir(ARTIFACTS, { recursive: true })
      webRoot = await mkdtemp(path.join(tmpdir(), 'chat-web-'))
      await buildWeb({ outDir: webRoot })
      t = await createChatDatabase(kind)
      config = testConfig(t.url)
      app = await buildApp({
        config,
        db: t.db,
        webRoot,
        accessTokenTtlSeconds: TOKEN_TTL_SECONDS,
        fastify: { logger: { level: process.env.LOG_LEVEL ?? 'warn' } },
      })
      base = await app.listen({ host: '127.0.0.1', port: 0 })
      browser = await launchChromium()
      Object.assign(alice, await newPerson(DESKTOP))
      Object.assign(bob, await newPerson(PHONE))
    }, 120_000)

    afterAll(async () => {
      for (const context of contexts) await context.close().catch(() => {})
      await browser?.close()
      await app?.close()
      await t?.destroy()
      if (webRoot) await rm(webRoot, { recursive: true, force: true })
    })

    test('the page is served at / under a CSP that forbids inline scripts', async () => {
      const response = await fetch(base)
      expect(response.status).toBe(200)
      const csp = response.headers.get('content-security-policy')!
      expect(csp).toMatch(/script-src 'self'(;|$)/)
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/)
      const html = await response.text()
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(html).not.toMatch(/https?:\/\//)
    })

    test('login errors are shown in words; two people create accounts', async () => {
      await bob.page.goto(base)
      await shot(bob.page, 'login')
      await bob.page.getByLabel('Username').fill(bob.username)
      await bob.page.getByLabel('Password').fill(PASSWORD)
      await bob.page.getByRole('button', { name: 'Log in' }).click()
      await expect.poll(() => bob.page.getByRole('alert').textContent()).toBe('Wrong username or password.')
      await bob.page.getByLabel('Password').fill('short')
      await bob.page.getByRole('button', { name: 'Create account' }).click()
      await expect.poll(() => bob.page.getByRole('alert').textContent()).toMatch(/^Password .*8/)

      await register(alice)
      await alice.page.getByRole('button', { name: 'Log out' }).waitFor()
      await alice.page.goto(base)
      await shot(alice.page, 'empty')
      await register(bob)

      // A taken username, said as such.
      const { page } = await newPerson(DESKTOP)
      await page.goto(base)
      await shot(page, 'login')
      await page.getByLabel('Username').fill(alice.username.toUpperCase())
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Create account' }).click()
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('That username is taken. Pick another one.')
    })

    test('alice starts a chat with bob, found by username search; it appears on bob’s side live', async () => {
      const { page } = alice
      await page.getByRole('button', { name: 'New chat' }).click()
      const dialog = page.getByRole('dialog', { name: 'New chat' })
      await dialog.getByLabel('Chat name').fill('Weekend plans')
      await dialog.getByLabel('Add people').fill(bob.username.slice(0, 6))
      await dialog.getByRole('button', { name: `Add ${bob.username}` }).click()
      await shot(page, 'new-chat')
      await dialog.getByRole('button', { name: 'Create' }).click()
      await dialog.waitFor({ state: 'detached' })
      await page.getByRole('heading', { name: 'Weekend plans' }).waitFor()
      await bob.page.getByRole('button', { name: 'Weekend plans' }).waitFor({ timeout: 2_000 })
      await shot(bob.page, 'chat-list')
      // The phone shows one pane at a time: opening the chat replaces the list.
      await bob.page.getByRole('button', { name: 'New chat' }).click()
      await shot(bob.page, 'new-chat')
      await bob.page.getByRole('dialog', { name: 'New chat' }).getByRole('button', { name: 'Cancel' }).click()
      await bob.page.getByRole('button', { name: 'Weekend plans' }).click()
      await bob.page.getByRole('heading', { name: 'Weekend plans' }).waitFor()
    })

    test('messages go both ways and arrive live within 2 s; edits and deletions show live', async () => {
      await send(alice.page, 'hi bob, saturday?')
      await log(bob.page).getByText('hi bob, saturday?').waitFor({ timeout: 2_000 })
      await send(bob.page, 'saturday works')
      await log(alice.page).getByText('saturday works').waitFor({ timeout: 2_000 })
      expect(await texts(bob.page)).toEqual(['hi bob, saturday?', 'saturday works'])

      const id = await log(alice.page).locator('li.message', { hasText: 'hi bob, saturday?' }).getAttribute('data-message-id')
      const mine = log(alice.page).locator(`li[data-message-id="${id}"]`)
      await mine.getByRole('button', { name: 'Edit' }).click()
      await mine.getByLabel('Edit message').fill('hi bob, sunday?')
      await mine.getByRole('button', { name: 'Save' }).click()
      const edited = log(bob.page).locator('li.message', { hasText: 'hi bob, sunday?' })
      await edited.waitFor({ timeout: 2_000 })
      expect(await edited.textContent()).toContain('(edited)')

      await send(alice.page, 'oops, wrong chat')
      await log(bob.page).getByText('oops, wrong chat').waitFor({ timeout: 2_000 })
      await log(alice.page).locator('li.message', { hasText: 'oops, wrong chat' }).getByRole('button', { name: 'Delete' }).click()
      await log(bob.page).getByText('oops, wrong chat').waitFor({ state: 'detached', timeout: 2_000 })
      expect(await texts(bob.page)).toEqual(['hi bob, sunday?', 'saturday works'])
      // Only one's own messages can be edited.
      expect(await log(bob.page).locator('li.message', { hasText: 'hi bob, sunday?' }).getByRole('button', { name: 'Edit' }).count()).toBe(0)
    })

    test('a message that looks like HTML is shown as text', async () => {
      const xss = '<img src=x onerror=alert(1)>'
      await send(alice.page, xss)
      await log(bob.page).getByText(xss, { exact: true }).waitFor({ timeout: 2_000 })
      expect(await log(bob.page).locator('img').count()).toBe(0)
      expect(await log(alice.page).locator('img').count()).toBe(0)
      await shot(alice.page, 'chat')
      await shot(bob.page, 'chat')
    })

    test('bob goes offline; 120 messages posted meanwhile are all shown once, in order, after he reconnects, and an edit and a deletion made meanwhile show too', async () => {
      await expect.poll(() => status(bob.page)).toBe('open')
      await bob.context.setOffline(true)
      await expect.poll(() => status(bob.page)).not.toBe('open')
      await shot(bob.page, 'offline')
      // Alice posts from the test, with a token that outlives the loop (hers live 10 s).
      const me = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${await tokenOf(alice.page)}` } })
      const token = signJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor(me.json(), { exp: Math.floor(Date.now() / 1000) + 600 }), config.jwtSecret)
      const headers = { authorization: `Bearer ${token}` }
      const chats = await app.inject({ method: 'GET', url: '/chats', headers })
      const chat = (chats.json().items as { id: string; name: string }[]).find((c) => c.name === 'Weekend plans')!
      // An edit and a deletion meanwhile: the catch-up shows them too.
      const shown = (await app.inject({ method: 'GET', url: `/messages?chatId=${chat.id}&limit=100`, headers })).json().items as { id: string; text: string }[]
      const edit = await app.inject({ method: 'PATCH', url: `/messages/${shown.find((m) => m.text === 'hi bob, sunday?')!.id}`, headers, payload: { text: 'hi bob, sunday at 8?' } })
      expect(edit.statusCode, edit.body).toBe(200)
      const removed = await app.inject({ method: 'DELETE', url: `/messages/${shown.find((m) => m.text.startsWith('<img'))!.id}`, headers })
      expect(removed.statusCode, removed.body).toBe(204)
      const expected: string[] = []
      for (let n = 1; n <= 120; n++) {
        const text = `while you were away ${n}`
        const res = await app.inject({ method: 'POST', url: '/messages', headers, payload: { chatId: chat.id, text } })
        expect(res.statusCode, res.body).toBe(201)
        expected.push(text)
      }
      // Nothing reached bob while he was offline: the catch-up, not the socket, brings them.
      expect(await status(bob.page)).not.toBe('open')
      expect((await texts(bob.page)).filter((x) => x.startsWith('while you were away'))).toEqual([])

      await bob.context.setOffline(false)
      await expect.poll(() => status(bob.page), { timeout: 15_000 }).toBe('open')
      await expect
        .poll(async () => (await texts(bob.page)).filter((x) => x.startsWith('while you were away')), { timeout: 10_000 })
        .toEqual(expected)
      await expect.poll(async () => (await texts(bob.page)).slice(0, 3)).toEqual(['hi bob, sunday at 8?', 'saturday works', 'while you were away 1'])
      expect(await texts(bob.page)).toHaveLength(122)
      // Newest at the bottom, and the log is scrolled there.
      const atBottom = await log(bob.page).evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 40)
      expect(atBottom).toBe(true)
      // Alice's open chat got them too, live, once each.
      await expect.poll(async () => texts(alice.page)).toEqual(await texts(bob.page))
    })

    test('older messages load when scrolling up (cursor paging)', async () => {
      const { page } = await newPerson(DESKTOP)
      await page.goto(base)
      await page.getByLabel('Username').fill(bob.username)
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Log in' }).click()
      await page.getByRole('button', { name: 'Weekend plans' }).click()
      // The first page holds the newest 50; scrolling to the top fetches older pages until the start.
      await expect.poll(async () => (await texts(page)).length).toBe(50)
      expect((await texts(page)).at(-1)).toBe('while you were away 120')
      for (let i = 0; i < 10 && (await texts(page)).length < 122; i++) {
        await log(page).evaluate((el) => el.scrollTo({ top: 0 }))
        await page.waitForTimeout(300)
      }
      expect(await texts(page)).toEqual(await texts(bob.page))
      await page.getByText('This is the start of the chat.').waitFor()
    })

    test('as owner, alice renames the chat, adds and removes people; bob sees it live; bob can only leave', async () => {
      const carol = uniqueName('carol')
      await app.inject({ method: 'POST', url: '/auth/register', payload: { username: carol, password: PASSWORD } })
      const { page } = alice
      await page.getByRole('button', { name: 'Chat settings' }).click()
      const settings = page.getByRole('dialog', { name: 'Chat settings' })
      await settings.getByLabel('Chat name').fill('Weekend trip')
      await settings.getByRole('button', { name: 'Rename' }).click()
      await bob.page.getByRole('heading', { name: 'Weekend trip' }).waitFor({ timeout: 2_000 })
      await settings.getByLabel('Add people').fill(carol)
      await settings.getByRole('button', { name: `Add ${carol}` }).click()
      await settings.getByRole('list', { name: 'Members' }).getByText(carol).waitFor()
      await bob.page.getByText('3 members').waitFor({ timeout: 2_000 })
      await shot(page, 'settings')
      await settings.getByRole('button', { name: `Remove ${carol}` }).click()
      await settings.getByRole('list', { name: 'Members' }).getByText(carol).waitFor({ state: 'detached' })
      await bob.page.getByText('2 members').waitFor({ timeout: 2_000 })
      await settings.getByRole('button', { name: 'Close' }).click()

      await bob.page.getByRole('button', { name: 'Chat settings' }).click()
      const bobSettings = bob.page.getByRole('dialog', { name: 'Chat settings' })
      await shot(bob.page, 'settings')
      expect(await bobSettings.getByRole('button', { name: 'Rename' }).count()).toBe(0)
      expect(await bobSettings.getByRole('button', { name: 'Delete chat' }).count()).toBe(0)
      await bobSettings.getByRole('button', { name: 'Leave chat' }).waitFor()
      await bobSettings.getByRole('button', { name: 'Close' }).click()
    })

    test('bob leaves a chat, and alice deletes another; both vanish from the lists live', async () => {
      const { page } = alice
      for (const name of ['Book club', 'Scratch']) {
        await page.getByRole('button', { name: 'New chat' }).click()
        const dialog = page.getByRole('dialog', { name: 'New chat' })
        await dialog.getByLabel('Chat name').fill(name)
        await dialog.getByLabel('Add people').fill(bob.username)
        await dialog.getByRole('button', { name: `Add ${bob.username}` }).click()
        await dialog.getByRole('button', { name: 'Create' }).click()
        await page.getByRole('heading', { name }).waitFor()
      }
      // Newest activity first.
      await bob.page.getByRole('button', { name: 'Back to chats' }).click()
      await expect
        .poll(() => bob.page.getByRole('navigation', { name: 'Chats' }).getByRole('listitem').allTextContents())
        .toEqual([expect.stringContaining('Scratch'), expect.stringContaining('Book club'), expect.stringContaining('Weekend trip')])

      await bob.page.getByRole('button', { name: 'Book club' }).click()
      await bob.page.getByRole('button', { name: 'Chat settings' }).click()
      await bob.page.getByRole('dialog', { name: 'Chat settings' }).getByRole('button', { name: 'Leave chat' }).click()
      await bob.page.getByRole('button', { name: 'Book club' }).waitFor({ state: 'detached' })
      await page.getByRole('button', { name: 'Book club' }).click()
      await page.getByText('1 member', { exact: true }).waitFor({ timeout: 2_000 })

      await page.getByRole('button', { name: 'Scratch' }).click()
      await page.getByRole('button', { name: 'Chat settings' }).click()
      await page.getByRole('dialog', { name: 'Chat settings' }).getByRole('button', { name: 'Delete chat' }).click()
      await page.getByRole('dialog', { name: 'Chat settings' }).getByRole('button', { name: 'Yes, delete' }).click()
      await page.getByRole('button', { name: 'Scratch' }).waitFor({ state: 'detached' })
      await bob.page.getByRole('button', { name: 'Scratch' }).waitFor({ state: 'detached', timeout: 2_000 })
    })

    test('a reload keeps the session, across several access-token lifetimes', async () => {
      await bob.page.reload()
      await bob.page.getByRole('button', { name: 'Weekend trip' }).waitFor()
      expect(await bob.page.getByRole('button', { name: 'Log in' }).count()).toBe(0)
      await expect.poll(() => status(bob.page)).toBe('open')
      // The scenario has outlived several 10 s tokens: each was refreshed before it expired.
      expect(refreshes.length).toBeGreaterThan(0)
      expect(unauthorized).toEqual([])
    })

    test('logout returns to the login form and closes that session’s socket', async () => {
      await expect.poll(() => app.gateway.connectionCount).toBe(3)
      await bob.page.getByRole('button', { name: 'Log out' }).click()
      await bob.page.getByRole('button', { name: 'Log in' }).waitFor()
      await expect.poll(() => app.gateway.connectionCount).toBe(2)
      expect(await bob.page.evaluate(() => (globalThis as unknown as BrowserGlobals).localStorage.getItem('chat.session'))).toBeNull()
      await bob.page.reload()
      await bob.page.getByRole('button', { name: 'Log in' }).waitFor()
    })

    test('no page error, alert() or CSP violation happened', () => {
      expect(pageProblems).toEqual([])
    })
  })
}
