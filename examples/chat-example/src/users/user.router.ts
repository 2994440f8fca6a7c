import { BaseRouter, pageSchema } from 'fastkit'
import { UserService } from './user.service.js'
import { UserRead, UserSearchQuery, UserSummary } from './user.schemas.js'

/**
 * `GET /users/:id` (generated) and `GET /users?search=&limit=&cursor=`, for signed-in users. Accounts
 * are made through `/auth/register`.
 */
export class UserRouter extends BaseRouter<typeof UserService> {
  constructor() {
    super(UserService, '/users', { auth: true })
  }

  protected override routes(): void {
    this.crud({ read: UserRead, get: true })
    this.route({
      method: 'GET',
      url: '/',
      summary: 'Search users by username prefix',
      query: UserSearchQuery,
      response: pageSchema(UserSummary),
      handler: ({ service, query }) => service.search(query),
    })
  }
}
