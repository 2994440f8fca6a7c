import { BaseService, CurrentUser, ForbiddenError, NotFoundError, UnitOfWork, type AuthUser, type EventOf, type Page, type Scope, type TableFeed } from 'fastkit'
import type { DB, Message } from '../db/schema.js'
import { ChatMemberRepository } from '../chats/chat-member.repository.js'
import { ChatRepository } from '../chats/chat.repository.js'
import { isChatMember } from '../chats/membership.js'
import { ChatEventPublisher, type ChatEvents } from '../realtime/chat-events.js'
import { MessageFeed } from '../realtime/message-feed.js'
import { MessageRepository } from './message.repository.js'
import { messageRead, type MessageCreate, type MessageListQuery, type MessageUpdate } from './message.schemas.js'

/**
 * Messages. Visibility ("members of the message's chat") is {@link scope}, applied by BaseService to
 * get, update and delete; lists and posts check membership of the named chat. Non-members get 404
 * everywhere; members who are not the author (or the chat's owner, for deletes) get 403.
 */
export class MessageService extends BaseService<MessageRepository> {
  static readonly inject = [MessageRepository, ChatRepository, ChatMemberRepository, ChatEventPublisher, CurrentUser, UnitOfWork, MessageFeed] as const

  constructor(
    messages: MessageRepository,
    private readonly chats: ChatRepository,
    private readonly members: ChatMemberRepository,
    private readonly events: ChatEventPublisher,
    private readonly user: AuthUser,
    private readonly uow: UnitOfWork<DB>,
    private readonly feed: TableFeed<Message>,
  ) {
    super(messages)
  }

  protected override scope(): Scope<DB, 'messages'> {
    return (eb) => isChatMember(eb, 'messages.chatId', this.user.id)
  }

  protected override notFound(): NotFoundError {
    return new NotFoundError('Message not found')
  }

  readonly get = this.crud.get()

  /**
   * Posts as the caller: one insert, which checks membership (404 otherwise) and takes no lock, so
   * posts to one chat commit in parallel. After the commit, the message feed is woken: each process
   * reads the new message once it settles and sends `message.created` to the chat's members, in the
   * chat's order (see `MessageRepository` and `realtime/message-feed.ts`). The response waits until
   * this process's feed has sent it (normally a millisecond or two; at most the feed's `maxWaitMs`),
   * so the message a client gets back is settled, like every message it can list.
   */
  readonly create = this.crud.create({
    values: (input: MessageCreate) => ({ chatId: input.chatId, senderId: this.user.id, text: input.text }),
    after: (message) => this.uow.afterCommit(() => this.feed.wake(message.tx)),
  })

  /** Only the author edits a message; `editedAt` says when. */
  readonly update = this.crud.update({
    before: (message, _patch: MessageUpdate) => {
      if (message.senderId !== this.user.id) throw new ForbiddenError('Only the author can edit a message')
    },
    values: (_message, patch) => {
      const now = new Date()
      return { text: patch.text, editedAt: now, updatedAt: now }
    },
    after: (message) => this.notify(message.chatId, { type: 'message.updated', data: messageRead(message) }),
  })

  /** The author or the chat's owner deletes a message. */
  readonly delete = this.crud.delete({
    before: async (message) => {
      if (message.senderId === this.user.id) return
      const chat = await this.chats.findById(message.chatId)
      if (chat?.ownerId !== this.user.id) throw new ForbiddenError('Only the author or the chat owner can delete a message')
    },
    after: (message) => this.notify(message.chatId, { type: 'message.deleted', data: { id: message.id, chatId: message.chatId } }),
  })

  /** A page of a chat's messages: newest first, or oldest first after the message `after`. 404 unless a member. */
  async list({ chatId, ...page }: MessageListQuery): Promise<Page<Message>> {
    if (!(await this.members.membership(chatId, this.user.id))) throw new NotFoundError('Chat not found')
    const messages = await this.repository.inChat(chatId, page)
    if (!messages) throw new NotFoundError('Message not found in this chat')
    return messages
  }

  /** Sends `event` to every current member, read in this transaction, after it commits. */
  private async notify(chatId: string, event: EventOf<ChatEvents>): Promise<void> {
    this.events.toUsers(await this.members.memberIds(chatId), event)
  }
}
