import { EventPublisher, userTopic, type EventOf } from 'fastkit'
import type { ChatRead, MemberRead } from '../chats/chat.schemas.js'
import type { MessageRead } from '../messages/message.schemas.js'

/**
 * Every real-time event of the chat, by type, with the type of its `data` (API.md, "Real time").
 * Events go to the user topics of a chat's members, computed inside the writing transaction; except
 * `message.created`, which each process's message feed sends once the message settles
 * (message-feed.ts), to the members of that moment.
 */
export type ChatEvents = {
  'message.created': MessageRead
  'message.updated': MessageRead
  'message.deleted': { id: string; chatId: string }
  'chat.updated': ChatRead
  'chat.deleted': { id: string }
  'chat.member_added': MemberRead & { chatId: string }
  'chat.member_removed': { chatId: string; userId: string }
}

/** The typed publisher services list in `static inject`; events leave only after commit. */
export class ChatEventPublisher extends EventPublisher<ChatEvents> {
  /** Sends `event` to every connection of these users (a chat's members, read in this transaction). */
  toUsers(userIds: readonly string[], event: EventOf<ChatEvents>): void {
    this.publish(userIds.map(userTopic), event)
  }
}
