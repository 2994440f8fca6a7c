import { BaseRouter } from 'fastkit'
import { z } from 'zod'
import { UserService } from './user.service.js'
import { UserRead, UserSearchQuery, UserSummary } from './user.schemas.js'

const UserPage = z.object({ items: z.array(UserSummary), nextCursor: z.string().nullable() })

/**
 * `GET /users?search=&limit=&cursor=` and `GET /users/:id`, for signed-in users. Accounts are made
 * through `/auth/register`, so the generated write routes are off.
 */
export class UserRouter extends BaseRouter<UserService, typeof UserRead, typeof UserRead> {
  constructor() {
    super(UserService, '/users', UserRead, UserRead, {
      auth: true,
      routes: { create: false, update: false, replace: false, delete: false, list: false },
    })
  }

  protected override routes(): void {
    this.route({
      method: 'GET',
      url: '/',
      summary: 'Search users by username prefix',
      query: UserSearchQuery,
      response: UserPage,
      handler: ({ service, query }) => service.search(query.search, query.limit, query.cursor),
    })
  }
}
