import { BaseRouter, pageSchema } from 'fastkit'
import { MessageCreate, MessageListQuery, MessageRead, MessageUpdate } from './message.schemas.js'
import { MessageService } from './message.service.js'

/**
 * `/messages`: POST, GET /:id, PATCH /:id and DELETE /:id are generated; the list is a route of its
 * own, since it requires `chatId` and supports `after=<messageId>` catch-up.
 */
export class MessageRouter extends BaseRouter<typeof MessageService> {
  constructor() {
    super(MessageService, '/messages', { auth: true })
  }

  protected override routes(): void {
    // A post is one statement (membership check and insert): it needs no transaction around it.
    this.crud({ read: MessageRead, get: true, create: { body: MessageCreate, uow: { singleWrite: true } }, update: { body: MessageUpdate }, delete: true })
    this.route({
      method: 'GET',
      url: '/',
      summary: "List a chat's messages: newest first, or oldest first after a given message",
      query: MessageListQuery,
      response: pageSchema(MessageRead),
      handler: ({ service, query }) => service.list(query),
    })
  }
}
