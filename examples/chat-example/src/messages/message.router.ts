import { BaseRouter } from 'fastkit'
import { z } from 'zod'
import { MessageCreate, MessageListQuery, MessageRead, MessageUpdate } from './message.schemas.js'
import { MessageService } from './message.service.js'

const MessagePage = z.object({ items: z.array(MessageRead), nextCursor: z.string().nullable() })

/**
 * `/messages`: POST, GET /:id, PATCH /:id and DELETE /:id are generated; the list is replaced by one
 * that requires `chatId` and supports `after=<messageId>` catch-up.
 */
export class MessageRouter extends BaseRouter<MessageService, typeof MessageCreate, typeof MessageRead, typeof MessageUpdate> {
  constructor() {
    super(MessageService, '/messages', MessageCreate, MessageRead, {
      auth: true,
      update: MessageUpdate,
      routes: { list: false, replace: false },
    })
  }

  protected override routes(): void {
    this.route({
      method: 'GET',
      url: '/',
      summary: "List a chat's messages: newest first, or oldest first after a given message",
      query: MessageListQuery,
      response: MessagePage,
      handler: ({ service, query }) =>
        query.after
          ? service.listAfter(query.chatId, query.after, query.limit, query.cursor)
          : service.listForChat(query.chatId, query.limit, query.cursor),
    })
  }
}
