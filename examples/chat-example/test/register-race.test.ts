import { describe, expect, test } from 'vitest'
import { sql } from 'kysely'
import { dialectsUnderTest } from 'fastkit/testing'
import { expectProblem, uniqueName, useChatApp } from './support/chat-app.js'

/**
 * Registrations of one name that race past the service's "is it taken?" check meet the unique index:
 * that is a clean 409 like any other duplicate, never a 500, and nothing of PostgreSQL's wording
 * (`duplicate key value violates unique constraint "users_username_lower"`) reaches the client.
 */
describe.each(dialectsUnderTest())('concurrent registrations on %s', (kind) => {
  const t = useChatApp(kind)

  test('twenty concurrent registrations of one name: exactly one 201, nineteen clean 409s', async () => {
    const username = uniqueName('race')
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.inject({
          method: 'POST',
          url: '/auth/register',
          // Case variants too: the index is on lower(username).
          payload: { username: i % 2 ? username.toUpperCase() : username, password: `password-${i}` },
        }),
      ),
    )
    const statuses = responses.map((r) => r.statusCode).sort()
    expect(statuses).toEqual([201, ...Array<number>(19).fill(409)])
    for (const res of responses.filter((r) => r.statusCode === 409)) {
      const problem = expectProblem(res, 409, 'CONFLICT')
      expect(problem.detail).toMatch(/username/i)
      expect(res.body).not.toMatch(/duplicate key|violates|unique constraint|users_username_lower|Key \(/i)
    }
    const rows = await sql<{ n: number }>`select count(*)::int as n from users where lower(username) = lower(${username})`.execute(t.db)
    expect(rows.rows[0]!.n).toBe(1)
  })
})
