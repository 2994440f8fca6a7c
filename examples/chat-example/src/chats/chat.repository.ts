import { BaseRepository, type KeyColumns } from 'fastkit'
import type { Chat, DB } from '../db/schema.js'

/** Chats. Posting to a chat locks its `chat_message_clocks` row instead (see `MessageRepository.create`). */
export class ChatRepository extends BaseRepository<DB, 'chats'> {
  readonly table = 'chats'
  /** The list's sort keys (ChatRouter): never NULL, so a page continues with a row comparison. */
  protected override readonly keys = { id: 'uuid', createdAt: 'timestamp', updatedAt: 'timestamp', name: 'text' } satisfies KeyColumns<Chat>
}
