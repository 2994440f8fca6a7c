import { token } from '../di/token.js'
import { ValidationError } from '../http/errors.js'

/**
 * The longest password fastkit hashes (in UTF-16 code units, as zod's `.max()` counts).
 *
 * @example
 * ```ts
 * const RegisterBody = z.object({ username: z.string(), password: z.string().min(8).max(MAX_PASSWORD_LENGTH) })
 * ```
 */
export const MAX_PASSWORD_LENGTH = 128

/**
 * Hashes and verifies passwords. fastkit ships {@link Argon2PasswordHasher}; another algorithm (or a
 * cheaper one in tests) only has to implement these four methods.
 *
 * Every method that takes a password rejects an empty one, or one longer than the hasher's limit,
 * with a `ValidationError` (400) *before* any hashing, so nobody can make the server hash megabytes.
 *
 * @example
 * ```ts
 * const hasher = resolve(request.container, PasswordHasher)
 * const { username, password } = z.object({ username: z.string(), password: z.string() }).parse(request.body)
 * const users = request.uow.db as Kysely<DB>
 * const user = await users.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()
 * const ok = user
 *   ? await hasher.verify({ hash: user.passwordHash, password })
 *   : await hasher.verifyDummy(password) // same cost: no user enumeration by timing
 * if (!user || !ok) throw new UnauthorizedError('Invalid username or password')
 * if (hasher.needsRehash(user.passwordHash)) {
 *   await users.updateTable('users').set({ passwordHash: await hasher.hash(password) }).where('id', '=', user.id).execute()
 * }
 * ```
 */
export interface PasswordHasher {
  /** Hashes `password` with a fresh salt; returns a self-describing encoded hash (PHC string). */
  hash(password: string): Promise<string>
  /** Whether `password` matches `hash`. Constant-time in the password. */
  verify(args: { readonly hash: string; readonly password: string }): Promise<boolean>
  /**
   * Verifies `password` against a fixed dummy hash of the current cost and always resolves `false`:
   * call it when the user does not exist, so an unknown user costs as much time as a wrong password.
   */
  verifyDummy(password: string): Promise<false>
  /** Whether `hash` was made with other parameters (or another algorithm) than the current ones. */
  needsRehash(hash: string): boolean
}

/**
 * The app's {@link PasswordHasher} in the DI container (registered by the auth plugin, an
 * {@link Argon2PasswordHasher} unless configured otherwise).
 *
 * @example
 * ```ts
 * class AuthService {
 *   static readonly inject = [UserRepository, PasswordHasher] as const
 *   constructor(private readonly users: UserRepository, private readonly hasher: PasswordHasher) {}
 * }
 * ```
 */
export const PasswordHasher = token<PasswordHasher>('fastkit.PasswordHasher')

/**
 * Throws a `ValidationError` (400, path `body.password`) for a password that is not a string, is empty
 * or is longer than `maxLength`. Hashers call it before hashing; routes may call it too.
 *
 * @example
 * ```ts
 * const body = z.object({ password: z.string() }).parse(request.body)
 * assertPasswordAcceptable(body.password) // throws before any argon2 work
 * ```
 */
export function assertPasswordAcceptable(password: unknown, maxLength: number = MAX_PASSWORD_LENGTH): asserts password is string {
  if (typeof password !== 'string' || password.length === 0) {
    throw new ValidationError('Invalid body.password: must not be empty', [{ path: 'body.password', message: 'must not be empty' }])
  }
  if (password.length > maxLength) {
    const message = `must be at most ${maxLength} characters`
    throw new ValidationError(`Invalid body.password: ${message}`, [{ path: 'body.password', message }])
  }
}
