import { z } from 'zod'
import { Username } from '../users/user.schemas.js'

/** 8–128 characters, no composition rules, never truncated (longer is a 400, and never hashed). */
export const Password = z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters')

export const RegisterBody = z.object({ username: Username, password: Password })

/**
 * Login, as JSON or as the OAuth2 password flow's form (`grant_type=password&username=…&password=…`).
 * Only loosely checked: any wrong credential, well-formed or not, is the same 401.
 */
export const LoginBody = z.object({
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(4096),
  grant_type: z.literal('password').optional(),
  scope: z.string().max(1024).optional(),
})

export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(512) })
/** Optional as a whole: a logout with no body at all (which Fastify hands over as `null`) ends every login. */
export const LogoutBody = z.preprocess((body) => body ?? {}, z.object({ refresh_token: z.string().min(1).max(512).optional() }))

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int(),
    refresh_token: z.string(),
  })
  .meta({ id: 'TokenResponse' })

export const Claims = z
  .object({
    sub: z.string().describe('The user id'),
    username: z.string(),
    jti: z.string().optional(),
    sid: z.string().optional().describe('The login (session) the token belongs to'),
    iss: z.string(),
    aud: z.union([z.string(), z.array(z.string())]),
    iat: z.number(),
    exp: z.number(),
  })
  .meta({ id: 'AccessTokenClaims' })

export type RegisterBody = z.output<typeof RegisterBody>
export type LoginBody = z.output<typeof LoginBody>
export type TokenResponse = z.output<typeof TokenResponse>
