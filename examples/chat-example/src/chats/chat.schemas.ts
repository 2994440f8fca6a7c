import { z } from 'zod'
import { MemberRole } from '../db/schema.js'

export const ChatName = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters')

export const ChatCreate = z.object({
  name: ChatName,
  isGroup: z.boolean().default(false),
  memberIds: z.array(z.uuid()).max(100, 'at most 100 members at creation').default([]),
})

export const ChatUpdate = z.object({ name: ChatName })

export const ChatRead = z
  .object({ id: z.uuid(), name: z.string(), isGroup: z.boolean(), ownerId: z.uuid(), createdAt: z.date(), updatedAt: z.date() })
  .meta({ id: 'Chat' })

export const MemberRead = z
  .object({ userId: z.uuid(), username: z.string(), role: z.enum([MemberRole.Owner, MemberRole.Member]), joinedAt: z.date() })
  .meta({ id: 'ChatMember' })

export const MemberAdd = z.object({ userId: z.uuid() })

export const ChatIdParams = z.object({ id: z.uuid() })
export const MemberParams = z.object({ id: z.uuid(), userId: z.uuid() })

export type ChatCreate = z.output<typeof ChatCreate>
export type ChatUpdate = z.output<typeof ChatUpdate>
export type ChatRead = z.output<typeof ChatRead>
export type MemberRead = z.output<typeof MemberRead>
