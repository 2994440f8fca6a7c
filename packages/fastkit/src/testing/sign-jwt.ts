import { createHmac } from 'node:crypto'

const HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }

/**
 * Signs a JWT by hand, HMAC (`HS256`/`HS384`/`HS512`) or unsigned (`alg: none`), independently of the
 * auth code under test, so a test can build any token an attacker could: expired, signed with another
 * key, with the wrong issuer or algorithm.
 *
 * @example
 * ```ts
 * const expired = signJwt({ alg: 'HS256', typ: 'JWT' }, { sub: user.id, iss: auth.issuer, aud: auth.audience, exp: 1 }, auth.secret)
 * expect((await app.inject({ url: '/me', headers: { authorization: `Bearer ${expired}` } })).statusCode).toBe(401)
 * ```
 */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | Buffer): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode(header)}.${encode(payload)}`
  const alg = String(header.alg)
  if (alg.toLowerCase() === 'none') return `${input}.`
  const hash = HASHES[alg]
  if (!hash) throw new Error(`signJwt: unsupported alg ${alg}`)
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`
}
