import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from 'kysely'
import type { DB } from '../db/schema.js'

/**
 * "`userId` is a member of the chat `chatId` refers to": the one visibility rule of chats and their
 * messages, used by `ChatService.scope` and `MessageService.scope`.
 */
export function isChatMember<TB extends 'chats' | 'messages'>(
  eb: ExpressionBuilder<DB, TB>,
  chatId: 'chats.id' | 'messages.chatId',
  userId: string,
): Expression<SqlBool> {
  // Widened so the one subquery can refer to either outer table; callers stay typed by TB.
  const outer = eb as unknown as ExpressionBuilder<DB, 'chats' | 'messages'>
  return outer.exists(
    outer.selectFrom('chatMembers').select('chatMembers.id').whereRef('chatMembers.chatId', '=', chatId).where('chatMembers.userId', '=', userId),
  )
}

/**
 * The user ids of the members of the chat of the message row `t`, comma-separated, as the column
 * `recipients`: the message feed's extra column (`TableFeed`'s `columns`), read with the messages in
 * one statement. Text, not a `uuid[]`: splitting it costs a fraction of parsing an array literal,
 * for each member of each message.
 */
export const recipientsColumn: RawBuilder<unknown> = sql`array_to_string(array(select m.user_id from chat_members as m where m.chat_id = t.chat_id), ',') as recipients`

/** The ids in a {@link recipientsColumn} value. */
export function recipientIds(recipients: string): string[] {
  return recipients === '' ? [] : recipients.split(',')
}
