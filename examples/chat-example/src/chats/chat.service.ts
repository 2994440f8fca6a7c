import { BaseService, ConflictError, CurrentUser, ForbiddenError, NotFoundError, ValidationError, type AuthUser, type Page, type Scope } from 'fastkit'
import { MemberRole, type Chat, type DB } from '../db/schema.js'
import { ChatEventPublisher } from '../realtime/chat-events.js'
import { UserRepository } from '../users/user.repository.js'
import { ChatMemberRepository } from './chat-member.repository.js'
import { ChatRepository } from './chat.repository.js'
import { isChatMember } from './membership.js'
import type { ChatCreate, ChatUpdate, MemberRead } from './chat.schemas.js'

/**
 * Chats and their members. The one visibility rule, "only members see a chat", is {@link scope}:
 * BaseService applies it to list, get, update and delete, so a non-member gets 404 everywhere.
 */
export class ChatService extends BaseService<ChatRepository> {
  static readonly inject = [ChatRepository, ChatMemberRepository, UserRepository, ChatEventPublisher, CurrentUser] as const

  constructor(
    chats: ChatRepository,
    private readonly members: ChatMemberRepository,
    private readonly users: UserRepository,
    private readonly events: ChatEventPublisher,
    private readonly user: AuthUser,
  ) {
    super(chats)
  }

  protected override scope(): Scope<DB, 'chats'> {
    return (eb) => isChatMember(eb, 'chats.id', this.user.id)
  }

  protected override notFound(): NotFoundError {
    return new NotFoundError('Chat not found')
  }

  readonly list = this.crud.list()
  readonly get = this.crud.get()

  /** Creates the chat; the caller becomes its owner, `memberIds` (known users) its members. All or nothing. */
  readonly create = this.crud.create({
    before: (input: ChatCreate) => this.knownUsers(input.memberIds),
    values: (input) => ({ name: input.name, isGroup: input.isGroup, ownerId: this.user.id }),
    after: async (chat, memberIds) => {
      const rows = await this.members.createMany([
        { chatId: chat.id, userId: this.user.id, role: MemberRole.Owner },
        ...memberIds.map((userId) => ({ chatId: chat.id, userId, role: MemberRole.Member })),
      ])
      for (const member of await this.withUsernames(rows)) {
        this.events.toUsers([member.userId], { type: 'chat.member_added', data: { ...member, chatId: chat.id } })
      }
    },
  })

  /** Only the owner may rename a chat (members get 403, others 404). */
  readonly update = this.crud.update({
    before: (chat, _patch: ChatUpdate) => this.assertOwner(chat, 'Only the owner can change this chat'),
    values: (_chat, patch) => ({ ...patch, updatedAt: new Date() }),
    after: async (chat) => this.events.toUsers(await this.members.memberIds(chat.id), { type: 'chat.updated', data: chat }),
  })

  /** Only the owner deletes a chat; its messages and memberships go with it (ON DELETE CASCADE). */
  readonly delete = this.crud.delete({
    // The members to tell, read before the delete cascades their memberships away.
    before: (chat) => {
      this.assertOwner(chat, 'Only the owner can delete this chat')
      return this.members.memberIds(chat.id)
    },
    after: (chat, memberIds) => this.events.toUsers(memberIds, { type: 'chat.deleted', data: { id: chat.id } }),
  })

  /** A page of the chat's members, for members only. */
  async listMembers(chatId: string, limit: number, cursor?: string): Promise<Page<MemberRead>> {
    await this.get(chatId)
    const page = await this.members.page(chatId, limit, cursor)
    return { items: await this.withUsernames(page.items), nextCursor: page.nextCursor }
  }

  /** The owner adds a user: 404 for an unknown user, 409 if already a member. */
  async addMember(chatId: string, userId: string): Promise<MemberRead> {
    const chat = await this.get(chatId)
    this.assertOwner(chat, 'Only the owner can add members')
    const user = await this.users.findById(userId)
    if (!user) throw new NotFoundError('User not found')
    if (await this.members.membership(chatId, userId)) throw new ConflictError('That user is already a member')
    const row = await this.members.create({ chatId, userId, role: MemberRole.Member })
    const member: MemberRead = { userId, username: user.username, role: row.role, joinedAt: row.joinedAt }
    this.events.toUsers(await this.members.memberIds(chatId), { type: 'chat.member_added', data: { ...member, chatId } })
    return member
  }

  /** The owner removes anyone but themself; a member removes only themself. */
  async removeMember(chatId: string, userId: string): Promise<void> {
    const chat = await this.get(chatId)
    const isOwner = chat.ownerId === this.user.id
    if (isOwner && userId === this.user.id) throw new ForbiddenError('The owner cannot leave the chat; delete it instead')
    if (!isOwner && userId !== this.user.id) throw new ForbiddenError('Only the owner can remove other members')
    const recipients = await this.members.memberIds(chatId)
    if (!(await this.members.remove(chatId, userId))) throw new NotFoundError('That user is not a member')
    this.events.toUsers(recipients, { type: 'chat.member_removed', data: { chatId, userId } })
  }

  /** `ids` without duplicates and without the caller; a 400 naming the ids that belong to no user. */
  private async knownUsers(ids: readonly string[]): Promise<string[]> {
    const memberIds = [...new Set(ids)].filter((id) => id !== this.user.id)
    const missing = await this.users.missing(memberIds)
    if (missing.length) {
      const errors = missing.map((id) => ({ path: `body.memberIds.${ids.indexOf(id)}`, message: 'no such user' }))
      throw new ValidationError(`Unknown user id(s): ${missing.join(', ')}`, errors)
    }
    return memberIds
  }

  private assertOwner(chat: Chat, message: string): void {
    if (chat.ownerId !== this.user.id) throw new ForbiddenError(message)
  }

  private async withUsernames(rows: { userId: string; role: MemberRead['role']; joinedAt: Date }[]): Promise<MemberRead[]> {
    if (rows.length === 0) return []
    const users = await this.users.findMany({ where: { id: { in: rows.map((r) => r.userId) } }, limit: rows.length })
    const names = new Map(users.items.map((u) => [u.id, u.username]))
    return rows.map((r) => ({ userId: r.userId, username: names.get(r.userId) ?? '', role: r.role, joinedAt: r.joinedAt }))
  }
}
