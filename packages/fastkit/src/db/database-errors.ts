import { BadRequestError, ConflictError, HttpError, ServiceUnavailableError } from '../http/errors.js'
import { constraintColumnsOf } from './unique-constraints.js'

/** The fields node-postgres and PGlite both put on a server error. */
interface PgErrorLike {
  readonly code: string
  readonly detail?: string
  readonly constraint?: string
  readonly schema?: string
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
  ADMIN_SHUTDOWN: '57P01',
  CRASH_SHUTDOWN: '57P02',
  CANNOT_CONNECT_NOW: '57P03',
  CONNECTION_FAILURE: '08006',
  CHARACTER_NOT_IN_REPERTOIRE: '22021',
  UNTRANSLATABLE_CHARACTER: '22P05',
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

/** Socket errors of a server that is down, unreachable or went away. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * node-postgres and pg-pool raise these as plain `Error`s (no code). They are the client library's own
 * messages, fixed strings in its source, not PostgreSQL's text.
 */
const LOST_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
])
const TIMEOUT_MESSAGES = new Set(['Query read timeout', 'timeout exceeded when trying to connect', 'Connection terminated due to connection timeout'])

/** SQLSTATEs after which the connection is gone or was never made: 08xxx, 57P01–57P03, 53300. */
function isUnavailableCode(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === PgErrorCode.TOO_MANY_CONNECTIONS
}

/**
 * Which kind of "the database is not there" an error is, if any:
 * - `unavailable`: refused, reset, shut down (57P01/57P02), starting up (57P03), terminated mid-query;
 * - `timeout`: no pooled connection within `connectionTimeoutMillis`, no answer within
 *   `queryTimeoutMillis` (client side), or `statement_timeout` (57014, server side).
 *
 * The pool uses it to throw away connections that cannot be trusted any more; {@link mapDatabaseError}
 * turns both into 503.
 */
export function databaseUnavailability(error: unknown): 'unavailable' | 'timeout' | undefined {
  if (!(error instanceof Error)) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (SOCKET_ERRORS.has(code)) return 'unavailable'
    if (/^[0-9A-Z]{5}$/.test(code)) {
      if (isUnavailableCode(code)) return 'unavailable'
      if (code === PgErrorCode.QUERY_CANCELED || code === PgErrorCode.IDLE_IN_TRANSACTION_TIMEOUT) return 'timeout'
      return undefined
    }
  }
  if (TIMEOUT_MESSAGES.has(error.message)) return 'timeout'
  if (LOST_MESSAGES.has(error.message)) return 'unavailable'
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  if (error instanceof AggregateError) return error.errors.some((e) => databaseUnavailability(e) === 'unavailable') ? 'unavailable' : undefined
  return undefined
}

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
 * mapDatabaseError(uniqueViolation) // ConflictError: 'username already exists'
 * mapDatabaseError(new Error('x'))  // undefined
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
