import type { ColumnType, Generated, Selectable } from 'kysely'
import type { RefreshTokensTable } from 'fastkit'

/**
 * The database as Kysely sees it. Columns are snake_case in SQL and camelCase here: the app's Kysely
 * runs with `CamelCasePlugin`, except for fastkit's own `refresh_tokens` table, which stays snake_case.
 */
export interface DB {
  users: UsersTable
  chats: ChatsTable
  chatMembers: ChatMembersTable
  messages: MessagesTable
  refresh_tokens: RefreshTokensTable
}

type CreatedAt = ColumnType<Date, never, never>
type UpdatedAt = ColumnType<Date, never, Date>

export interface UsersTable {
  id: Generated<string>
  username: string
  passwordHash: string
  createdAt: CreatedAt
}

export interface ChatsTable {
  id: Generated<string>
  name: string
  isGroup: Generated<boolean>
  ownerId: string
  createdAt: CreatedAt
  updatedAt: UpdatedAt
}

export const MemberRole = { Owner: 'owner', Member: 'member' } as const
export type MemberRole = (typeof MemberRole)[keyof typeof MemberRole]

export interface ChatMembersTable {
  id: Generated<string>
  chatId: string
  userId: string
  role: MemberRole
  joinedAt: CreatedAt
}

export interface MessagesTable {
  id: Generated<string>
  chatId: string
  senderId: string
  text: string
  createdAt: CreatedAt
  updatedAt: UpdatedAt
  editedAt: Date | null
  /**
   * The id of the transaction that wrote the message (PostgreSQL `xid8`, as text: it can exceed 2^53).
   * A chat's messages are ordered by `(tx, createdAt, id)`; see `MessageRepository`. Never in a response.
   */
  tx: Generated<string>
}

export type User = Selectable<UsersTable>
export type Chat = Selectable<ChatsTable>
export type ChatMember = Selectable<ChatMembersTable>
export type Message = Selectable<MessagesTable>
