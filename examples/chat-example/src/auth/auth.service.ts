import {
  AccessTokens,
  BaseService,
  ConflictError,
  LoginThrottle,
  PasswordHasher,
  RefreshTokens,
  UnauthorizedError,
  type AuthUser,
  type IssuedRefreshToken,
} from 'fastkit'
import type { User } from '../db/schema.js'
import { UserRepository } from '../users/user.repository.js'
import type { LoginBody, RegisterBody, TokenResponse } from './auth.schemas.js'

const INVALID_CREDENTIALS = 'Invalid username or password'

/**
 * Accounts and sessions: registration, password login, refresh-token rotation, logout. The reusable
 * parts (hashing, tokens, throttling) come from fastkit; this class holds the chat's rules.
 */
export class AuthService extends BaseService<UserRepository> {
  static readonly inject = [UserRepository, PasswordHasher, AccessTokens, RefreshTokens, LoginThrottle] as const

  constructor(
    users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly accessTokens: AccessTokens,
    private readonly refreshTokens: RefreshTokens,
    private readonly throttle: LoginThrottle,
  ) {
    super(users)
  }

  /** Creates an account. A taken username (any case) is 409; the password is hashed with argon2id. */
  async register(input: RegisterBody): Promise<User> {
    if (await this.repository.findByUsername(input.username)) throw new ConflictError('That username is taken')
    const passwordHash = await this.hasher.hash(input.password)
    // Two racing registrations both pass the check above; the unique index turns the loser into a 409.
    return this.repository.create({ username: input.username, passwordHash })
  }

  /**
   * Checks a password and starts a session. Unknown user and wrong password are the same 401 and cost
   * the same time (a dummy hash is verified); attempts are throttled (429) before the check, counting
   * those in flight. Only the check runs under the throttle: the throttle's store settles before this
   * request's transaction begins.
   */
  async login(input: LoginBody, address: string): Promise<TokenResponse> {
    const user = await this.throttle.attempt({ username: input.username, address }, async () => {
      const found = await this.repository.findByUsername(input.username)
      const ok = found ? await this.hasher.verify({ hash: found.passwordHash, password: input.password }) : await this.hasher.verifyDummy(input.password)
      if (!found || !ok) throw new UnauthorizedError(INVALID_CREDENTIALS)
      return found
    })
    if (this.hasher.needsRehash(user.passwordHash)) {
      await this.repository.update(user.id, { passwordHash: await this.hasher.hash(input.password) })
    }
    return this.session(user, await this.refreshTokens.issue({ userId: user.id }))
  }

  /** The signed-in user; 401 once the account is gone. */
  async me(user: AuthUser): Promise<User> {
    const found = await this.repository.findById(user.id)
    if (!found) throw new UnauthorizedError('Session ended')
    return found
  }

  /** Exchanges a refresh token for a new pair; a reused one is 401 and ends its whole login. */
  async refresh(refreshToken: string): Promise<TokenResponse> {
    const next = await this.refreshTokens.rotate({ token: refreshToken })
    const user = await this.repository.findById(next.userId)
    if (!user) throw new UnauthorizedError('Invalid refresh token')
    return this.session(user, next)
  }

  /** Ends the login of `refreshToken`; without one, every login of the user. */
  async logout(user: AuthUser, refreshToken: string | undefined): Promise<void> {
    if (refreshToken) await this.refreshTokens.revoke({ token: refreshToken, userId: user.id })
    else await this.refreshTokens.revokeAllForUser({ userId: user.id })
  }

  /** The access token carries the login's family as `sid`, so ending the login refuses it at once. */
  private session(user: User, refreshToken: IssuedRefreshToken): TokenResponse {
    const access = this.accessTokens.issue({ id: user.id, username: user.username }, { sessionId: refreshToken.familyId })
    return { ...access, refresh_token: refreshToken.token }
  }
}
