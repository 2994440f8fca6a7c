import { BaseService, CurrentUser, ForbiddenError, NotFoundError, userTopic, type AuthUser, type Page, type Scope } from 'fastkit'
import type { DB, Message } from '../db/schema.js'
import { ChatMemberRepository } from '../chats/chat-member.repository.js'
import { ChatRepository } from '../chats/chat.repository.js'
import { isChatMember } from '../chats/membership.js'
import { ChatEventPublisher } from '../realtime/chat-events.js'
import { MessageRepository } from './message.repository.js'
import type { MessageCreate, MessageUpdate } from './message.schemas.js'

/**
 * Messages. Visibility ("members of the message's chat") is {@link scope}, applied by BaseService to
 * get, update and delete; lists and posts check membership of the named chat. Non-members get 404
 * everywhere; members who are not the author (or the chat's owner, for deletes) get 403.
 */
export class MessageService extends BaseService<MessageRepository, MessageCreate, MessageUpdate> {
  static readonly inject = [MessageRepository, ChatRepository, ChatMemberRepository, ChatEventPublisher, CurrentUser] as const

  constructor(
    messages: MessageRepository,
    private readonly chats: ChatRepository,
    private readonly members: ChatMemberRepository,
    private readonly events: ChatEventPublisher,
    private readonly user: AuthUser,
  ) {
    super(messages)
  }

  protected override scope(): Scope<DB, 'messages'> {
    return (eb) => isChatMember(eb, 'messages.chatId', this.user.id)
  }

  protected override notFound(): NotFoundError {
    return new NotFoundError('Message not found')
  }

  /** Posts as the caller. Locks the chat row, so a chat's messages commit in order. */
  override async create(input: MessageCreate): Promise<Message> {
    const chat = await this.chats.lockForMember(input.chatId, this.user.id)
    if (!chat) throw new NotFoundError('Chat not found')
    const message = await this.repository.create({ chatId: chat.id, senderId: this.user.id, text: input.text })
    await this.notify(chat.id, { type: 'message.created', data: message })
    return message
  }

  /** A page of a chat's messages, newest first; 404 unless the caller is a member. */
  async listForChat(chatId: string, limit: number, cursor?: string): Promise<Page<Message>> {
    await this.assertMember(chatId)
    return this.repository.newestFirst(chatId, limit, cursor)
  }

  /** A page of the messages after `afterId`, oldest first; `nextCursor` while more follow. */
  async listAfter(chatId: string, afterId: string, limit: number, cursor?: string): Promise<Page<Message>> {
    await this.assertMember(chatId)
    const page = await this.repository.oldestFirstAfter(chatId, afterId, limit, cursor)
    if (!page) throw new NotFoundError('Message not found in this chat')
    return page
  }

  protected override async beforeUpdate(existing: Message, patch: MessageUpdate) {
    if (existing.senderId !== this.user.id) throw new ForbiddenError('Only the author can edit a message')
    const now = new Date()
    return { text: patch.text, editedAt: now, updatedAt: now }
  }

  protected override async afterUpdate(message: Message): Promise<void> {
    await this.notify(message.chatId, { type: 'message.updated', data: message })
  }

  protected override async beforeDelete(existing: Message): Promise<void> {
    if (existing.senderId === this.user.id) return
    const chat = await this.chats.findById(existing.chatId)
    if (chat?.ownerId !== this.user.id) throw new ForbiddenError('Only the author or the chat owner can delete a message')
  }

  protected override async afterDelete(message: Message): Promise<void> {
    await this.notify(message.chatId, { type: 'message.deleted', data: { id: message.id, chatId: message.chatId } })
  }

  private async assertMember(chatId: string): Promise<void> {
    if (!(await this.members.membership(chatId, this.user.id))) throw new NotFoundError('Chat not found')
  }

  /** Sends `event` to every current member, read in this transaction, after it commits. */
  private async notify(chatId: string, event: Parameters<ChatEventPublisher['publish']>[1]): Promise<void> {
    const recipients = await this.members.memberIds(chatId)
    this.events.publish(recipients.map(userTopic), event)
  }
}
