import { BaseService, CurrentUser, ForbiddenError, LoginThrottle, PasswordHasher, RefreshTokens, UnauthorizedError, userTopic, type AuthUser } from 'fastkit'
import { ChatEventPublisher } from '../realtime/chat-events.js'
import { AccountRepository } from './account.repository.js'

/**
 * The caller's own account: deleting it. Everything of the user goes in one transaction, and once it
 * commits their sessions end everywhere (tokens refused with 401, WebSockets closed with 4003) and the
 * members of their chats hear about it (API.md, "Deleting an account").
 */
export class AccountService extends BaseService<AccountRepository> {
  static readonly inject = [AccountRepository, PasswordHasher, LoginThrottle, RefreshTokens, ChatEventPublisher, CurrentUser] as const

  constructor(
    accounts: AccountRepository,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly refreshTokens: RefreshTokens,
    private readonly events: ChatEventPublisher,
    private readonly user: AuthUser,
  ) {
    super(accounts)
  }

  /**
   * Deletes the caller's account after checking `password` (wrong → 403). The check counts against
   * the login throttle like a login (429 beyond its limits), so a stolen access token cannot be used to
   * guess the password here; it runs before the transaction takes the row lock.
   */
  async deleteAccount(password: string, address: string): Promise<void> {
    await this.checkPassword(password, address)
    const user = await this.repository.lock(this.user.id)
    // Deleted meanwhile by another request of the same user: their session is over.
    if (!user) throw new UnauthorizedError('Session ended')

    const footprint = await this.repository.footprint(user.id)
    for (const chat of footprint.ownedChats) {
      this.events.publish(chat.memberIds.map(userTopic), { type: 'chat.deleted', data: { id: chat.chatId } })
    }
    const membersOf = new Map(footprint.memberChats.map((chat) => [chat.chatId, chat.memberIds.map(userTopic)]))
    for (const message of footprint.messages) {
      this.events.publish(membersOf.get(message.chatId)!, { type: 'message.deleted', data: { id: message.id, chatId: message.chatId } })
    }
    for (const [chatId, topics] of membersOf) {
      this.events.publish(topics, { type: 'chat.member_removed', data: { chatId, userId: user.id } })
    }
    // Every access token of the user is refused from the commit on, whatever its session.
    await this.refreshTokens.revokeAllForUser({ userId: user.id, reason: 'account-deleted', allAccessTokens: true })
    await this.repository.deleteUser(user.id)
  }

  private async checkPassword(password: string, address: string): Promise<void> {
    const account = await this.repository.findById(this.user.id)
    if (!account) throw new UnauthorizedError('Session ended')
    const reservation = await this.throttle.reserve({ username: account.username, address })
    let ok: boolean
    try {
      ok = await this.hasher.verify({ hash: account.passwordHash, password })
    } catch (error) {
      await reservation.cancel().catch(() => {}) // no password was checked (a full hash queue): not counted
      throw error
    }
    if (!ok) {
      await reservation.failed()
      throw new ForbiddenError('Wrong password')
    }
    await reservation.succeeded()
  }
}
