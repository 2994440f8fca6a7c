import { pageQuerySchema } from 'fastkit'
import { z } from 'zod'
import type { Message } from '../db/schema.js'

/** 1–4000 characters after trimming. */
export const MessageText = z.string().trim().min(1, 'must not be empty').max(4000, 'must be at most 4000 characters')

/** The sender is always the caller: a client-sent `senderId` is dropped by this schema. */
export const MessageCreate = z.object({ chatId: z.uuid(), text: MessageText })
export const MessageUpdate = z.object({ text: MessageText })

export const MessageRead = z
  .object({
    id: z.uuid(),
    chatId: z.uuid(),
    senderId: z.uuid(),
    text: z.string(),
    createdAt: z.date(),
    updatedAt: z.date(),
    editedAt: z.date().nullable(),
  })
  .meta({ id: 'Message' })

/** A stored message as the API shows it (in responses and events): without `tx`, its order key. */
export function messageRead({ tx: _, ...message }: Message): MessageRead {
  return message
}

const PageQuery = pageQuerySchema()

export const MessageListQuery = PageQuery.extend({
  chatId: z.uuid().describe('The chat whose messages to list (required)'),
  cursor: PageQuery.shape.cursor.describe('The nextCursor of the previous page (with the same chatId and after)'),
  after: z
    .uuid()
    .optional()
    .describe('Catch-up: only messages after this one, oldest first; follow nextCursor (keeping after) until it is null'),
})

export type MessageCreate = z.output<typeof MessageCreate>
export type MessageUpdate = z.output<typeof MessageUpdate>
export type MessageRead = z.output<typeof MessageRead>
export type MessageListQuery = z.output<typeof MessageListQuery>
