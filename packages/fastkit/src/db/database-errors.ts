import { BadRequestError, ConflictError, HttpError, ServiceUnavailableError } from '../http/errors.js'

/** The fields node-postgres and PGlite both put on a server error. */
interface PgErrorLike {
  readonly code: string
  readonly detail?: string
  readonly constraint?: string
  readonly column?: string
  readonly table?: string
  readonly message: string
}

/**
 * SQLSTATE codes fastkit turns into 4xx/503 responses.
 *
 * @example
 * ```ts
 * if (isDatabaseError(error) && error.code === PgErrorCode.UNIQUE_VIOLATION) throw new ConflictError('Name taken')
 * ```
 */
export const PgErrorCode = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  NOT_NULL_VIOLATION: '23502',
  CHECK_VIOLATION: '23514',
  EXCLUSION_VIOLATION: '23P01',
  STRING_TOO_LONG: '22001',
  INVALID_TEXT_REPRESENTATION: '22P02',
  NUMERIC_OUT_OF_RANGE: '22003',
  INVALID_DATETIME: '22007',
  DATETIME_OUT_OF_RANGE: '22008',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
  QUERY_CANCELED: '57014',
  IDLE_IN_TRANSACTION_TIMEOUT: '25P03',
  TOO_MANY_CONNECTIONS: '53300',
  CANNOT_CONNECT_NOW: '57P03',
} as const

/**
 * True for an error raised by PostgreSQL (through `pg` or PGlite), i.e. one with a SQLSTATE code.
 *
 * @example
 * ```ts
 * catch (error) { if (isDatabaseError(error) && error.constraint === 'users_username_key') … }
 * ```
 */
export function isDatabaseError(error: unknown): error is PgErrorLike {
  return (
    error instanceof Error &&
    typeof (error as Partial<PgErrorLike>).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((error as unknown as PgErrorLike).code)
  )
}

/**
 * No free connection within `connectionTimeoutMillis` (pg-pool), or no connection made in time (pg):
 * the database is overloaded or away, which is a 503 like a statement timeout, not a 500.
 */
function isConnectTimeout(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.message === 'timeout exceeded when trying to connect' ||
      error.message === 'Connection terminated due to connection timeout')
  )
}

/** `Key (chat_id)=(42) is not present…` → `chat_id`. */
function keyColumns(detail: string | undefined): string | undefined {
  return detail?.match(/^Key \(([^)]+)\)/)?.[1]
}

/**
 * Maps a PostgreSQL error to the fastkit error a client should see, or returns `undefined` for errors
 * that are the server's fault (they stay 500). The original error is kept as `cause`.
 *
 * - unique violation → 409 `CONFLICT` naming the field;
 * - foreign-key violation → 400 naming the missing reference, or 409 when a row is still referenced;
 * - not-null, check, bad text representation, out of range → 400;
 * - serialization failure / deadlock → 409 (the client may retry);
 * - statement timeout, too many connections, no pooled connection within the connection timeout → 503.
 *
 * The problem+json handler calls it for every error; call it yourself where errors do not reach it.
 *
 * @example
 * ```ts
 * mapDatabaseError(uniqueViolation) // ConflictError: 'A record with this username already exists'
 * mapDatabaseError(new Error('x'))  // undefined
 * ```
 */
export function mapDatabaseError(error: unknown): HttpError | undefined {
  if (isConnectTimeout(error)) return new ServiceUnavailableError('The database is busy; retry later', { cause: error })
  if (!isDatabaseError(error)) return undefined
  const cause = error
  const columns = keyColumns(error.detail)
  switch (error.code) {
    case PgErrorCode.UNIQUE_VIOLATION:
      return new ConflictError(columns ? `A record with this ${columns} already exists` : 'A record with these values already exists', { cause })
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
    case PgErrorCode.SERIALIZATION_FAILURE:
    case PgErrorCode.DEADLOCK_DETECTED:
      return new ConflictError('The request conflicted with a concurrent one; retry it', { cause })
    case PgErrorCode.QUERY_CANCELED:
    case PgErrorCode.IDLE_IN_TRANSACTION_TIMEOUT:
    case PgErrorCode.TOO_MANY_CONNECTIONS:
    case PgErrorCode.CANNOT_CONNECT_NOW:
      return new ServiceUnavailableError('The database is busy; retry later', { cause })
    default:
      return undefined
  }
}
