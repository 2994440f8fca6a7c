import { BaseRepository, type KeyColumns } from 'fastkit'
import type { Chat, DB } from '../db/schema.js'

/**
 * Chats. Posting to a chat takes only a key-share lock on its row (see `MessageRepository.create`), so
 * posts and renames of a chat do not wait for one another; deleting it waits for the posts in flight.
 */
export class ChatRepository extends BaseRepository<DB, 'chats'> {
  readonly table = 'chats'
  /** The list's sort keys (ChatRouter): never NULL, so a page continues with a row comparison. */
  protected override readonly keys = { id: 'uuid', createdAt: 'timestamp', updatedAt: 'timestamp', name: 'text' } satisfies KeyColumns<Chat>
}
