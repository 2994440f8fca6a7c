import { token } from '../di/token.js'

/**
 * The authenticated caller, as verified from an access token: `id` is the token's `sub` claim,
 * `username` its `username` claim. Nothing else is trusted from the token.
 *
 * @example
 * ```ts
 * app.get('/whoami', { preHandler: app.authenticate }, async (request) => {
 *   const user: AuthUser = request.user
 *   return { id: user.id }
 * })
 * ```
 */
export interface AuthUser {
  readonly id: string
  readonly username: string
}

/**
 * The {@link AuthUser} of the current request, registered in `request.container` by
 * `app.authenticate`. Services that act on behalf of the caller list it in `static inject`.
 *
 * On a route without authentication, resolving it throws `UnauthorizedError` (401) rather than a
 * DI error, so a forgotten `auth: true` fails closed.
 *
 * @example
 * ```ts
 * class MessageService {
 *   static readonly inject = [MessageRepository, CurrentUser] as const
 *   constructor(private readonly messages: MessageRepository, private readonly user: AuthUser) {}
 * }
 * ```
 */
export const CurrentUser = token<AuthUser>('fastkit.CurrentUser')
