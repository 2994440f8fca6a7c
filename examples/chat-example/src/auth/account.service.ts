import { BaseService, CurrentUser, ForbiddenError, PasswordHasher, RefreshTokens, UnauthorizedError, userTopic, type AuthUser } from 'fastkit'
import { ChatEventPublisher } from '../realtime/chat-events.js'
import { AccountRepository } from './account.repository.js'

/**
 * The caller's own account: deleting it. Everything of the user goes in one transaction, and once it
 * commits their sessions end everywhere (tokens refused with 401, WebSockets closed with 4003) and the
 * members of their chats hear about it (API.md, "Deleting an account").
 */
export class AccountService extends BaseService<AccountRepository> {
  static readonly inject = [AccountRepository, PasswordHasher, RefreshTokens, ChatEventPublisher, CurrentUser] as const

  constructor(
    accounts: AccountRepository,
    private readonly hasher: PasswordHasher,
    private readonly refreshTokens: RefreshTokens,
    private readonly events: ChatEventPublisher,
    private readonly user: AuthUser,
  ) {
    super(accounts)
  }

  /** Deletes the caller's account after checking `password` (wrong → 403). */
  async deleteAccount(password: string): Promise<void> {
    const user = await this.repository.lock(this.user.id)
    // Deleted meanwhile by another request of the same user: their session is over.
    if (!user) throw new UnauthorizedError('Session ended')
    if (!(await this.hasher.verify({ hash: user.passwordHash, password }))) throw new ForbiddenError('Wrong password')

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
}
