import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { TableFeed, token, userTopic, type EventOf } from 'fastkit'
import { recipientIds, recipientsColumn } from '../chats/membership.js'
import type { DB, Message } from '../db/schema.js'
import { messageRead } from '../messages/message.schemas.js'
import type { ChatEvents } from './chat-events.js'

/**
 * The process's feed of new messages (fastkit's {@link TableFeed} over `messages`), in `app.container`:
 * `MessageService` wakes it after a post commits.
 */
export const MessageFeed = token<TableFeed<Message>>('MessageFeed')

/**
 * Starts this process's message feed: every process reads the messages that settle, in the chat's
 * order (`tx`, `createdAt`, `id`: the order catch-up lists them in), and sends `message.created` to its
 * own connections of the chat's members at that moment. Posting thus needs no lock and no NOTIFY per
 * message, and every process delivers a chat's messages in the same order. The feed closes with the app.
 */
export async function messageFeed(app: FastifyInstance): Promise<void> {
  const feed = new TableFeed<Message & { recipients: string }>({
    db: app.db as Kysely<DB>,
    table: 'messages',
    order: ['tx', 'createdAt', 'id'],
    // The chat's members of the moment, read with the messages themselves, once per chat of a batch.
    columns: recipientsColumn,
    columnsPer: 'chatId',
    bus: app.events,
    onRows: (messages) =>
      app.events.deliver(
        messages.map(({ recipients, ...message }) => ({
          topics: recipientIds(recipients).map(userTopic),
          ...({ type: 'message.created', data: messageRead(message) } satisfies EventOf<ChatEvents>),
        })),
      ),
    onError: (error) => app.log.error({ err: error }, 'message feed error'),
  })
  await feed.start()
  app.container.register(MessageFeed, { useValue: feed })
  app.addHook('onClose', () => feed.close())
}
