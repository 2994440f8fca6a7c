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
 * try {
 *   await db.insertInto('tasks').values({ title: 'write the docs' }).execute()
 * } catch (error) {
 *   if (isDatabaseError(error) && error.code === PgErrorCode.UNIQUE_VIOLATION) throw new ConflictError('Title taken')
 *   throw error
 * }
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
 * try {
 *   await db.insertInto('users').values({ username: 'ann', passwordHash: '…' }).execute()
 * } catch (error) {
 *   if (isDatabaseError(error) && error.constraint === 'users_username_key') throw new ConflictError('Username taken')
 *   throw error
 * }
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
 * - `timeout`: no pooled connection within `connectionTimeoutMs`, no answer within
 *   `queryTimeoutMs` (client side), or `statement_timeout` (57014, server side).
 *
 * The pool uses it to throw away connections that cannot be trusted any more; `mapDatabaseError`
 * (in `http/`, which turns both into 503) uses it too: `db/` classifies, `http/` decides the status.
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
