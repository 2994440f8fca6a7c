import { BaseRouter } from 'fastkit'
import { z } from 'zod'
import { AccountService } from './account.service.js'

export const DeleteAccountBody = z.object({ password: z.string().min(1).max(4096) })

/** `DELETE /auth/me`: the caller deletes their own account. Its own router, beside AuthRouter's `/auth` routes. */
export class AccountRouter extends BaseRouter<typeof AccountService> {
  constructor() {
    super(AccountService, '/auth')
  }

  protected override routes(): void {
    this.route({
      method: 'DELETE',
      url: '/me',
      auth: true,
      status: 204,
      summary: 'Delete your account (confirm with your password)',
      description:
        'Deletes the account, its memberships, the chats it owns and its messages. Its tokens then get 401 and its WebSockets close with 4003. ' +
        'Members of its chats receive chat.deleted (owned chats), message.deleted (its messages) and chat.member_removed (other chats).',
      body: DeleteAccountBody,
      response: z.null(),
      responses: { 403: z.unknown().describe('Wrong password'), 429: z.unknown().describe('Too many wrong passwords (the login throttle)') },
      handler: async ({ service, body, request }) => {
        await service.deleteAccount(body.password, request.ip)
        return null
      },
    })
  }
}
