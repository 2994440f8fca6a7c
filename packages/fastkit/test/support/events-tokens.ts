import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * A tiny signed, expiring token for the gateway tests, so "bad" and "expired" mean what they say
 * without depending on the auth plugin. Format: `<userId>.<expiresAtMs>.<hmac>`.
 */
const SECRET = 'fastkit-events-test-secret'

function sign(payload: string): string {
  return createHmac('sha256', SECRET).update(payload).digest('base64url')
}

export function signTestToken(userId: string, options: { expiresInMs?: number } = {}): string {
  const payload = `${userId}.${Date.now() + (options.expiresInMs ?? 60_000)}`
  return `${payload}.${sign(payload)}`
}

export async function verifyTestToken(token: string): Promise<{ id: string } | null> {
  const [userId, expiresAt, signature] = token.split('.')
  if (!userId || !expiresAt || !signature) return null
  const expected = Buffer.from(sign(`${userId}.${expiresAt}`))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null
  if (Number(expiresAt) <= Date.now()) return null
  return { id: userId }
}
