import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, test } from 'vitest'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, MISSING_ID, useChatApp, type Page, type TestUser } from './support/chat-app.js'

type UserSummary = { id: string; username: string }

describe.each(dialectsUnderTest())('/users over HTTP on %s', (kind) => {
  const t = useChatApp(kind)
  let me: TestUser

  beforeAll(async () => {
    me = await t.user('me')
  })

  const register = async (username: string) => {
    const res = await t.inject({ method: 'POST', url: '/auth/register', payload: { username, password: 'password-123' } })
    expect(res.statusCode, res.body).toBe(201)
    return res.json() as { id: string; username: string; createdAt: string }
  }
  const search = (query: string) => t.inject({ method: 'GET', url: `/users?${query}`, headers: me.headers })

  test('search finds users by username prefix, case-insensitively, as { id, username }', async () => {
    const p = `s${randomBytes(3).toString('hex')}`
    const alice = await register(`${p}_Alice`)
    const albert = await register(`${p}_alBERT`)
    await register(`${p}_bob`)
    const res = await search(`search=${p.toUpperCase()}_AL`)
    expect(res.statusCode).toBe(200)
    const page = res.json() as Page<UserSummary>
    expect(page.items).toHaveLength(2)
    expect(page.items).toEqual(expect.arrayContaining([{ id: alice.id, username: alice.username }, { id: albert.id, username: albert.username }]))
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(['id', 'username'])
    expect(page.nextCursor).toBeNull()
  })

  test('LIKE wildcards in the prefix are matched literally', async () => {
    const p = `w${randomBytes(3).toString('hex')}`
    const underscore = await register(`${p}x_1`)
    await register(`${p}xa1`)
    const page = (await search(`search=${p}x_`)).json() as Page<UserSummary>
    expect(page.items.map((u) => u.id)).toEqual([underscore.id])
    expect(((await search(`search=${p}%25`)).json() as Page<UserSummary>).items).toEqual([])
  })

  test('pages through every match with the cursor, without duplicates or gaps', async () => {
    const p = `p${randomBytes(3).toString('hex')}`
    const created = []
    for (let i = 0; i < 5; i++) created.push(await register(`${p}_${i}`))
    const seen: UserSummary[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Page<UserSummary> = await t.page(me, `/users?search=${p}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(page.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.items)
      cursor = page.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen.map((u) => u.username)).toEqual(created.map((u) => u.username))
  })

  test('without a search every user is listed, 50 per page by default', async () => {
    for (let i = 0; i < 3; i++) await t.user('many')
    const page: Page<UserSummary> = await t.page(me, '/users')
    expect(page.items.length).toBeGreaterThanOrEqual(4)
    expect(page.items.length).toBeLessThanOrEqual(50)
    expect(page.items.map((u) => u.id)).toContain(me.id)
  })

  test('bad search parameters are 400s', async () => {
    expectProblem(await search(`search=${'a'.repeat(33)}`), 400, 'VALIDATION_FAILED')
    for (const limit of ['0', '101', 'abc', '1.5', '-1']) expectProblem(await search(`limit=${limit}`), 400, 'VALIDATION_FAILED')
    expectProblem(await search('cursor=not-a-cursor'), 400)
    expectProblem(await search(`cursor=${Buffer.from('["id",["x"]]').toString('base64url')}`), 400)
  })

  test('GET /users/:id is 200 with { id, username, createdAt }, 404 for an unknown id, 400 for a malformed one', async () => {
    const other = await t.user('other')
    const res = await t.inject({ method: 'GET', url: `/users/${other.id}`, headers: me.headers })
    expect(res.statusCode).toBe(200)
    expect(Object.keys(res.json()).sort()).toEqual(['createdAt', 'id', 'username'])
    expect(res.json()).toMatchObject({ id: other.id, username: other.username })
    expectProblem(await t.inject({ method: 'GET', url: `/users/${MISSING_ID}`, headers: me.headers }), 404, 'NOT_FOUND')
    const bad = expectProblem(await t.inject({ method: 'GET', url: '/users/not-a-uuid', headers: me.headers }), 400, 'VALIDATION_FAILED')
    expect(bad.errors[0].path).toBe('params.id')
  })

  test('both routes need a bearer token', async () => {
    for (const url of ['/users', '/users?search=a', `/users/${me.id}`]) {
      const res = await t.inject({ method: 'GET', url })
      expectProblem(res, 401, 'UNAUTHORIZED')
      expect(res.headers['www-authenticate']).toBe('Bearer')
    }
  })
})
