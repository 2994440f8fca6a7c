import type { Kysely } from 'kysely'
import type { UnitOfWork } from '../uow/unit-of-work.js'
import type { NewRefreshToken, RefreshTokenStore, RevokedFamily, RevokedTokens, StoredRefreshToken } from './refresh-token-store.js'
import { REFRESH_TOKENS_TABLE, type RefreshTokensTable } from './refresh-tokens-migration.js'

type Tables = { refresh_tokens: RefreshTokensTable }

/**
 * The {@link RefreshTokenStore} over the `refresh_tokens` table ({@link createRefreshTokensTable}),
 * through the given unit of work. Stateless: one instance serves the whole app.
 *
 * Results are selected under camelCase aliases, so the store works the same with or without Kysely's
 * `CamelCasePlugin` on the app's database.
 *
 * @example
 * ```ts
 * const store = new KyselyRefreshTokenStore()
 * await UnitOfWork.run(db, (uow) => store.revokeUser({ uow, userId: user.id, at: new Date() }))
 * ```
 */
export class KyselyRefreshTokenStore implements RefreshTokenStore {
  async insert({ uow, token }: { readonly uow: UnitOfWork; readonly token: NewRefreshToken }): Promise<void> {
    await db(uow)
      .insertInto(REFRESH_TOKENS_TABLE)
      .values({
        id: token.id,
        user_id: token.userId,
        family_id: token.familyId,
        parent_id: token.parentId,
        token_hash: token.tokenHash,
        expires_at: token.expiresAt,
        created_at: token.createdAt,
      })
      .execute()
  }

  async findByHash({ uow, tokenHash }: { readonly uow: UnitOfWork; readonly tokenHash: string }): Promise<StoredRefreshToken | undefined> {
    return db(uow)
      .selectFrom(REFRESH_TOKENS_TABLE)
      .select([
        'id',
        'user_id as userId',
        'family_id as familyId',
        'parent_id as parentId',
        'token_hash as tokenHash',
        'expires_at as expiresAt',
        'used_at as usedAt',
        'replaced_by as replacedBy',
        'revoked_at as revokedAt',
        'created_at as createdAt',
      ])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst()
  }

  async markUsed(args: { readonly uow: UnitOfWork; readonly id: string; readonly replacedBy: string; readonly at: Date }): Promise<boolean> {
    const result = await db(args.uow)
      .updateTable(REFRESH_TOKENS_TABLE)
      .set({ used_at: args.at, replaced_by: args.replacedBy })
      .where('id', '=', args.id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async revokeFamily(args: { readonly uow: UnitOfWork; readonly familyId: string; readonly at: Date }): Promise<number> {
    const result = await db(args.uow)
      .updateTable(REFRESH_TOKENS_TABLE)
      .set({ revoked_at: args.at })
      .where('family_id', '=', args.familyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  async revokeUser(args: { readonly uow: UnitOfWork; readonly userId: string; readonly at: Date }): Promise<RevokedTokens> {
    const rows = await db(args.uow)
      .updateTable(REFRESH_TOKENS_TABLE)
      .set({ revoked_at: args.at })
      .where('user_id', '=', args.userId)
      .where('revoked_at', 'is', null)
      .returning('family_id as familyId')
      .execute()
    return { count: rows.length, familyIds: [...new Set(rows.map((row) => row.familyId))] }
  }

  async revokedSince(args: { readonly uow: UnitOfWork; readonly since: Date }): Promise<readonly RevokedFamily[]> {
    // A sequential scan once per process start; revoked_at is not indexed, as nothing else reads it.
    const rows = await db(args.uow)
      .selectFrom(REFRESH_TOKENS_TABLE)
      .select(({ fn }) => ['family_id as familyId', 'user_id as userId', fn.max('revoked_at').as('revokedAt')])
      .where('revoked_at', '>', args.since)
      .groupBy(['family_id', 'user_id'])
      .execute()
    return rows.map((row) => ({ familyId: row.familyId, userId: String(row.userId), revokedAt: new Date(row.revokedAt as Date) }))
  }

  async deleteExpired(args: { readonly uow: UnitOfWork; readonly before: Date }): Promise<number> {
    const result = await db(args.uow).deleteFrom(REFRESH_TOKENS_TABLE).where('expires_at', '<', args.before).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

function db(uow: UnitOfWork): Kysely<Tables> {
  // Without the app's plugins: a CamelCasePlugin, say, must not rename this table's columns.
  return (uow.db as Kysely<Tables>).withoutPlugins()
}
