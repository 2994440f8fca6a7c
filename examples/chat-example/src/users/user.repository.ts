import { sql } from 'kysely'
import { BaseRepository, likePrefix, type KeyColumns, type Page } from 'fastkit'
import type { DB, User } from '../db/schema.js'

export class UserRepository extends BaseRepository<DB, 'users'> {
  readonly table = 'users'
  protected override readonly keys = { id: 'uuid', username: 'text' } satisfies KeyColumns<User>

  /** The user with this username, compared case-insensitively (as the unique index does). */
  findByUsername(username: string): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst()
  }

  /**
   * A page of users whose name starts with `prefix` (case-insensitive), by username. The prefix test
   * is `lower(username) LIKE 'prefix%'`, which the `users_username_lower` index serves.
   */
  search(prefix: string, limit: number, cursor?: string): Promise<Page<User>> {
    const pattern = likePrefix(prefix.toLowerCase())
    return this.findMany(
      { sort: ['username'], limit, cursor },
      { scope: prefix ? (eb) => eb(sql<string>`lower(${eb.ref('users.username')})`, 'like', pattern) : undefined },
    )
  }

  /** The ids among `ids` that belong to no user. */
  async missing(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return []
    const found = await this.db.selectFrom('users').select('id').where('id', 'in', [...ids]).execute()
    const known = new Set(found.map((u) => u.id))
    return ids.filter((id) => !known.has(id))
  }
}
