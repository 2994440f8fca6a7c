import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { createDatabase, fastkit, fastkitAuth, type FastkitAuthOptions } from '../../src/index.js'
import { signJwt as signJwtWith } from '../../src/testing/index.js'

/** A 48-byte secret: enough for HS256 and HS384. */
export const TEST_SECRET = randomBytes(48).toString('base64url')
export const TEST_ISSUER = 'fastkit-test'
export const TEST_AUDIENCE = 'fastkit-test-api'

/**
 * A fastkit app with the auth plugin, for HTTP tests of auth. `db` defaults to an in-memory PGlite
 * that is never started unless a route queries it (units of work are lazy).
 */
export async function buildAuthApp(
  options: { db?: Kysely<any>; auth?: Partial<FastkitAuthOptions>; routes?: (app: FastifyInstance) => void | Promise<void> } = {},
): Promise<FastifyInstance> {
  const db = options.db ?? createDatabase<any>('memory://')
  const app = Fastify({ logger: false })
  await app.register(fastkit, { db, ownsDatabase: !options.db })
  await app.register(fastkitAuth, { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, ...options.auth })
  await options.routes?.(app)
  await app.ready()
  return app
}

/** Signs a JWT by hand (see fastkit/testing's `signJwt`), with the test secret by default. */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | Buffer = TEST_SECRET): string {
  return signJwtWith(header, payload, key)
}

/** Valid claims for the test issuer and audience, expiring in 5 minutes, with `overrides` applied. */
export function testClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { sub: 'user-1', username: 'alice', jti: 'j1', iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now, exp: now + 300, ...overrides }
}
