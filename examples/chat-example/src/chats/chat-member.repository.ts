import { BaseRepository, type KeyColumns, type Page } from 'fastkit'
import type { ChatMember, DB } from '../db/schema.js'

/** Memberships: who is in which chat, with which role. */
export class ChatMemberRepository extends BaseRepository<DB, 'chatMembers'> {
  readonly table = 'chatMembers'
  protected override readonly keys = { id: 'uuid', joinedAt: 'timestamp' } satisfies KeyColumns<ChatMember>

  /** The user ids of every member of a chat: the recipients of its real-time events. */
  async memberIds(chatId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('chatMembers').select('userId').where('chatId', '=', chatId).execute()
    return rows.map((r) => r.userId)
  }

  membership(chatId: string, userId: string): Promise<ChatMember | undefined> {
    return this.findOne({ chatId, userId })
  }

  /** A page of a chat's members in the order they joined. */
  page(chatId: string, limit: number, cursor?: string): Promise<Page<ChatMember>> {
    return this.findMany({ where: { chatId }, sort: ['joinedAt'], limit, cursor })
  }

  async remove(chatId: string, userId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('chatMembers').where('chatId', '=', chatId).where('userId', '=', userId).executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
