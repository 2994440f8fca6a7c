import { constraintColumnsOf } from '../db/unique-constraints.js'
import { databaseUnavailability, isDatabaseError, PgErrorCode } from '../db/database-errors.js'
import { BadRequestError, ConflictError, HttpError, ServiceUnavailableError } from './errors.js'

// The HTTP side of database errors: `db/` says what an error is (SQLSTATE, unavailability), this file
// says what a client sees. Kept here so that `db/` never imports from `http/`.

/**
 * `Retry-After` of the 503s {@link mapDatabaseError} returns: a database that is away usually comes
 * back within seconds (a restart, a failover); one that is too slow needs its load to drop first.
 */
export const DATABASE_RETRY_AFTER_SECONDS = { unavailable: 1, timeout: 5 } as const

function unavailable(kind: 'unavailable' | 'timeout', cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(kind === 'timeout' ? 'The database is busy; retry later' : 'The database is unavailable; retry later', {
    cause,
    headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS[kind]) },
  })
}

/** `Key (chat_id)=(42) is not present…` → `chat_id`. */
function keyColumns(detail: string | undefined): string | undefined {
  return detail?.match(/^Key \(([^)]+)\)/)?.[1]
}

/** `username already exists`; `chat_id and user_id already exist` for a constraint over several columns. */
function uniqueViolationMessage(columns: readonly string[] | undefined): string {
  if (!columns || columns.length === 0) return 'A record with these values already exists'
  if (columns.length === 1) return `${columns[0]} already exists`
  return `${columns.slice(0, -1).join(', ')} and ${columns.at(-1)} already exist`
}

/**
 * Maps a PostgreSQL error to the fastkit error a client should see, or returns `undefined` for errors
 * that are the server's fault (they stay 500). The original error is kept as `cause`.
 *
 * - unique violation → 409 `CONFLICT` naming the constraint's columns (from the catalog, not from
 *   PostgreSQL's message): `username already exists`;
 * - foreign-key violation → 400 naming the missing reference, or 409 when a row is still referenced;
 * - not-null, check, bad text representation, out of range, text the database cannot store (NUL:
 *   22021, untranslatable: 22P05) → 400;
 * - serialization failure / deadlock → 409 (the client may retry);
 * - the database unreachable, shutting down, starting up, or the connection lost mid-query → 503 with
 *   `Retry-After: 1`; no pooled connection in time, a client-side query timeout or `statement_timeout`
 *   (57014) → 503 with `Retry-After: 5` (see {@link databaseUnavailability}).
 *
 * The problem+json handler calls it for every error; call it yourself where errors do not reach it.
 *
 * @example
 * ```ts
 * try {
 *   await db.insertInto('users').values({ username: 'ann', passwordHash: '…' }).execute()
 * } catch (error) {
 *   throw mapDatabaseError(error) ?? error // a taken username: ConflictError 'username already exists'
 * }
 * mapDatabaseError(new Error('x')) // undefined: not a database error
 * ```
 */
export function mapDatabaseError(error: unknown): HttpError | undefined {
  const unavailability = databaseUnavailability(error)
  if (unavailability) return unavailable(unavailability, error)
  if (!isDatabaseError(error)) return undefined
  const cause = error
  const columns = keyColumns(error.detail)
  switch (error.code) {
    case PgErrorCode.UNIQUE_VIOLATION:
      return new ConflictError(uniqueViolationMessage(constraintColumnsOf(error)), { cause })
    case PgErrorCode.FOREIGN_KEY_VIOLATION:
      if (error.detail?.includes('is still referenced')) {
        return new ConflictError(`This record is still referenced from ${error.table ?? 'another table'}`, { cause })
      }
      return new BadRequestError(columns ? `The referenced ${columns} does not exist` : 'A referenced record does not exist', {
        cause,
        ...(columns ? { issues: [{ path: columns, message: 'does not exist' }] } : {}),
      })
    case PgErrorCode.NOT_NULL_VIOLATION:
      return new BadRequestError(`${error.column ?? 'A required field'} is required`, {
        cause,
        ...(error.column ? { issues: [{ path: error.column, message: 'is required' }] } : {}),
      })
    case PgErrorCode.CHECK_VIOLATION:
    case PgErrorCode.EXCLUSION_VIOLATION:
      return new BadRequestError(`The values break the rule ${error.constraint ?? ''}`.trim(), { cause })
    case PgErrorCode.STRING_TOO_LONG:
    case PgErrorCode.INVALID_TEXT_REPRESENTATION:
    case PgErrorCode.NUMERIC_OUT_OF_RANGE:
    case PgErrorCode.INVALID_DATETIME:
    case PgErrorCode.DATETIME_OUT_OF_RANGE:
      return new BadRequestError(error.message, { cause })
    case PgErrorCode.CHARACTER_NOT_IN_REPERTOIRE:
    case PgErrorCode.UNTRANSLATABLE_CHARACTER:
      // A NUL or a lone surrogate; fastkit's input checks refuse them first, this is the backstop.
      return new BadRequestError('The text contains a character the database cannot store', { cause })
    case PgErrorCode.SERIALIZATION_FAILURE:
    case PgErrorCode.DEADLOCK_DETECTED:
      return new ConflictError('The request conflicted with a concurrent one; retry it', { cause })
    default:
      return undefined
  }
}
