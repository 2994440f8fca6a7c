import { randomUUID } from 'node:crypto'
import { signJwt as signJwtWith } from 'fastkit/testing'
// The WebSocket client itself is fastkit's (fastkit/testing): it records frames and bounds every wait.
export {
  connectWebSocket as connect,
  refusedWebSocketUpgrade as refusedUpgrade,
  type ReceivedEvent,
  type WebSocketClientOptions as ConnectOptions,
  type WebSocketTestClient as RealtimeClient,
} from 'fastkit/testing'

/**
 * An HS256 JWT signed with `secret`, built by hand so a test can make tokens the server never
 * issues: expired ones, or ones signed with another key.
 */
export function signJwt(secret: string, claims: Record<string, unknown>): string {
  return signJwtWith({ alg: 'HS256', typ: 'JWT' }, claims, secret)
}

/** Claims like the chat's own access tokens (`iss`, `aud` of the chat example), expiring `expiresIn` s from now. */
export function chatClaims(user: { id: string; username: string }, expiresIn: number): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    sub: user.id,
    username: user.username,
    jti: randomUUID(),
    iss: 'chat-example',
    aud: 'chat-example-api',
    iat: now - 3_600,
    exp: now + expiresIn,
  }
}

/** `promise`, or a rejection naming `what` after `ms`: every wait in these tests is bounded. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
