import { token } from '../di/token.js'
import type { UnitOfWork } from '../uow/unit-of-work.js'

/** A refresh token as stored: never the token itself, only its SHA-256. */
export interface StoredRefreshToken {
  readonly id: string
  readonly userId: string
  /** Every token descended from one login shares the id of that login's first token's family. */
  readonly familyId: string
  /** The token this one replaced; `null` for the first token of a login. */
  readonly parentId: string | null
  /** Hex SHA-256 of the opaque token. */
  readonly tokenHash: string
  /** Absolute end of the family: rotation does not extend it. */
  readonly expiresAt: Date
  /** When this token was rotated (exchanged for its successor); `null` while it is the current one. */
  readonly usedAt: Date | null
  /** The successor's id, once rotated. */
  readonly replacedBy: string | null
  readonly revokedAt: Date | null
  readonly createdAt: Date
}

/** What {@link RefreshTokenStore.insert} writes. */
export type NewRefreshToken = Omit<StoredRefreshToken, 'usedAt' | 'replacedBy' | 'revokedAt'>

/** What {@link RefreshTokenStore.revokeUser} revoked. */
export interface RevokedTokens {
  /** How many tokens. */
  readonly count: number
  /** The distinct families (logins, the `sid` of their access tokens) they belonged to. */
  readonly familyIds: readonly string[]
}

/** A login revoked at `revokedAt`, as {@link RefreshTokenStore.revokedSince} lists it. */
export interface RevokedFamily {
  readonly familyId: string
  readonly userId: string
  /** The latest revocation time of the family's tokens. */
  readonly revokedAt: Date
}

/**
 * Where refresh tokens live. fastkit ships {@link KyselyRefreshTokenStore}; this small interface is
 * the extension point for another backend.
 *
 * Every method takes one readonly args object (so fields can be added without breaking implementers)
 * whose `uow` is the unit of work the operation belongs to: a database store runs its statements
 * through `uow.db`, so a refresh-token write commits or rolls back with the rest of the request.
 * {@link RefreshTokens} passes the request's unit for normal operations and a separate unit for the
 * revocation that must survive a 401.
 *
 * @example
 * ```ts
 * const store = resolve(app.container, RefreshTokenStore)
 * declare const presented: string, nextId: string
 * const record = await store.findByHash({ uow, tokenHash: hashRefreshToken(presented) })
 * if (record && !(await store.markUsed({ uow, id: record.id, replacedBy: nextId, at: new Date() }))) {
 *   // somebody else rotated it first
 * }
 * ```
 */
export interface RefreshTokenStore {
  insert(args: { readonly uow: UnitOfWork; readonly token: NewRefreshToken }): Promise<void>
  findByHash(args: { readonly uow: UnitOfWork; readonly tokenHash: string }): Promise<StoredRefreshToken | undefined>
  /**
   * Marks the token rotated, only if it is still unused and unrevoked, atomically (one conditional
   * UPDATE). Returns whether this call won; `false` means another rotation or a revocation came first.
   */
  markUsed(args: { readonly uow: UnitOfWork; readonly id: string; readonly replacedBy: string; readonly at: Date }): Promise<boolean>
  /** Revokes every not yet revoked token of a family; returns how many. */
  revokeFamily(args: { readonly uow: UnitOfWork; readonly familyId: string; readonly at: Date }): Promise<number>
  /** Revokes every not yet revoked token of a user (all their logins); returns how many, and their families. */
  revokeUser(args: { readonly uow: UnitOfWork; readonly userId: string; readonly at: Date }): Promise<RevokedTokens>
  /**
   * The families with a token revoked after `since`: at start-up, the sessions whose access tokens
   * may still be alive (see {@link SessionRevocations}).
   */
  revokedSince(args: { readonly uow: UnitOfWork; readonly since: Date }): Promise<readonly RevokedFamily[]>
  /** Deletes tokens whose family expired before `before`; returns how many. */
  deleteExpired(args: { readonly uow: UnitOfWork; readonly before: Date }): Promise<number>
}

/**
 * The app's {@link RefreshTokenStore} in the DI container (registered by the auth plugin; a
 * {@link KyselyRefreshTokenStore} unless configured otherwise).
 *
 * @example
 * ```ts
 * class MyStore extends KyselyRefreshTokenStore {} // or your own RefreshTokenStore
 * await app.register(fastkitAuth, { ...auth, refreshTokens: { store: new MyStore() } })
 * resolve(app.container, RefreshTokenStore) // the MyStore
 * ```
 */
export const RefreshTokenStore = token<RefreshTokenStore>('fastkit.RefreshTokenStore')
