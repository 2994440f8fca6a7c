import { BaseRepository } from 'fastkit'
import type { DB, User } from '../db/schema.js'

/** What deleting an account takes with it, read before the delete cascades it away. */
export interface AccountFootprint {
  /** Chats the user owns (they go), with their other members. */
  readonly ownedChats: { readonly chatId: string; readonly memberIds: string[] }[]
  /** Chats the user is only a member of (they stay), with their other members. */
  readonly memberChats: { readonly chatId: string; readonly memberIds: string[] }[]
  /** The user's messages in chats that stay. */
  readonly messages: { readonly id: string; readonly chatId: string }[]
}

/** The queries of account deletion: lock the account, read its footprint, delete it. */
export class AccountRepository extends BaseRepository<DB, 'users'> {
  readonly table = 'users'

  /**
   * The user, locked until the transaction ends: a concurrent "add member" (whose foreign key locks
   * the user row too) waits, so the footprint read next is the whole of it.
   */
  lock(userId: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst()
  }

  async footprint(userId: string): Promise<AccountFootprint> {
    const rows = await this.db
      .selectFrom('chatMembers as mine')
      .innerJoin('chats', 'chats.id', 'mine.chatId')
      .innerJoin('chatMembers as other', 'other.chatId', 'mine.chatId')
      .select(['chats.id as chatId', 'chats.ownerId', 'other.userId'])
      .where('mine.userId', '=', userId)
      .where('other.userId', '!=', userId)
      .execute()
    const owned = new Map<string, string[]>()
    const member = new Map<string, string[]>()
    for (const row of rows) {
      const map = row.ownerId === userId ? owned : member
      let ids = map.get(row.chatId)
      if (!ids) map.set(row.chatId, (ids = []))
      ids.push(row.userId)
    }
    const messages = member.size
      ? await this.db
          .selectFrom('messages')
          .select(['id', 'chatId'])
          .where('senderId', '=', userId)
          .where('chatId', 'in', [...member.keys()])
          .orderBy('createdAt')
          .execute()
      : []
    const list = (map: Map<string, string[]>) => [...map].map(([chatId, memberIds]) => ({ chatId, memberIds }))
    return { ownedChats: list(owned), memberChats: list(member), messages }
  }

  /** Deletes the user; memberships, owned chats (with their messages) and messages cascade (migrations 0002, 0003). */
  async deleteUser(userId: string): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', userId).execute()
  }
}
