import { pageQuerySchema } from 'fastkit'
import { z } from 'zod'

/** 3–32 characters of A–Z a–z 0–9 _ . - (unique case-insensitively). */
export const Username = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(32, 'must be at most 32 characters')
  .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, _ . and -')

/** A user as anyone signed in may see it. Never carries the password hash. */
export const UserRead = z
  .object({ id: z.uuid(), username: z.string(), createdAt: z.date() })
  .meta({ id: 'User' })

/** A user in search results. */
export const UserSummary = z.object({ id: z.uuid(), username: z.string() }).meta({ id: 'UserSummary' })

export const UserSearchQuery = pageQuerySchema().extend({
  search: z.string().max(32).optional().describe('Username prefix, case-insensitive'),
})

export type UserRead = z.infer<typeof UserRead>
export type UserSearchQuery = z.output<typeof UserSearchQuery>
