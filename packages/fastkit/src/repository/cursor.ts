import { BadRequestError } from '../http/errors.js'

/**
 * A keyset cursor: the sort it belongs to and the text form of the last row's sort values
 * (PostgreSQL's own `::text`, so timestamps keep their microseconds). Opaque to clients: base64url JSON.
 */
export interface Cursor {
  readonly sort: string
  readonly values: readonly (string | null)[]
}

/**
 * The PostgreSQL type family of a sort key, used to check a client's cursor before it reaches SQL (a
 * value of the wrong form would otherwise be PostgreSQL's `invalid input syntax for type uuid: …`).
 * A repository declares them once, in its `keys` (see `KeyColumns`); `findMany` checks every cursor
 * against them.
 *
 * @example
 * ```ts
 * const joinedAt: CursorKeyType = 'timestamp'
 * ```
 */
export type CursorKeyType = 'uuid' | 'integer' | 'numeric' | 'boolean' | 'timestamp' | 'date' | 'text'

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i
const INTEGER = /^[+-]?\d{1,19}$/
const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d{1,4})?$|^(?:NaN|[+-]?Infinity)$/i
const INT8_MAX = 2n ** 63n - 1n
// PostgreSQL's ISO output of date, timestamp and timestamptz (`2026-12-02 03:12:47.123456+00`, with a
// ` BC` suffix before year 1), and the ISO 8601 forms clients are used to.
const TIMESTAMP =
  /^(\d{4,6})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(?:\s*(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?))?(?: BC)?$/i

function isCalendarDate(year: number, month: number, day: number): boolean {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  return days !== undefined && day >= 1 && day <= days && year <= 294_276
}

function isTimestamp(value: string, dateOnly: boolean): boolean {
  if (/^[+-]?infinity$/i.test(value)) return true
  const m = TIMESTAMP.exec(value)
  if (!m || (dateOnly && m[4] !== undefined)) return false
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part)))
  return isCalendarDate(year!, month!, day!) && hour! <= 24 && minute! <= 59 && second! <= 60
}

/** Whether `value` is text PostgreSQL accepts as a value of `type`. */
function fitsType(value: string, type: CursorKeyType): boolean {
  // No PostgreSQL type accepts a NUL or a lone surrogate in its text form.
  if (value.includes('\0') || !(value as string & { isWellFormed(): boolean }).isWellFormed()) return false
  switch (type) {
    case 'uuid':
      return UUID.test(value)
    case 'integer':
      return INTEGER.test(value) && BigInt(value) <= INT8_MAX && BigInt(value) >= -INT8_MAX - 1n
    case 'numeric':
      return NUMERIC.test(value)
    case 'boolean':
      return value === 'true' || value === 'false'
    case 'timestamp':
      return isTimestamp(value, false)
    case 'date':
      return isTimestamp(value, true)
    case 'text':
      return true
  }
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.values]), 'utf8').toString('base64url')
}

/**
 * The 400 for a cursor that is not one of this list's: always the same words, whatever was wrong with
 * it, so nothing of the database's own message (or of the cursor's content) reaches the client.
 */
export function invalidCursor(cause?: unknown): BadRequestError {
  return new BadRequestError('Invalid cursor: pass the nextCursor of the previous page unchanged, with the same sort', {
    issues: [{ path: 'cursor', message: 'is not a cursor of this list' }],
    ...(cause === undefined ? {} : { cause }),
  })
}

/**
 * Decodes a cursor made for `sort`; anything else is a 400 (`BAD_REQUEST`, "Invalid cursor"), never a
 * 500. A NULL for a key that `isNotNull` says can never be NULL (the id, at least) marks a forged
 * cursor, and so does a value that is not text of its key's type (`typeOf`), checked here so that it
 * never reaches SQL.
 */
export function decodeCursor(
  raw: string,
  sort: string,
  keyCount: number,
  isNotNull: (index: number) => boolean = () => false,
  typeOf: (index: number) => CursorKeyType | undefined = () => undefined,
): Cursor {
  const invalid = () => invalidCursor()
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(raw)) throw invalid()
  const bytes = Buffer.from(raw, 'base64url')
  // Base64url decoding drops a trailing character that completes no byte, so `cursor + 'x'` can decode
  // to the very cursor it altered: only the one encoding this module produces is accepted.
  if (bytes.toString('base64url') !== raw) throw invalid()
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw invalid()
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    parsed[0] !== sort ||
    !Array.isArray(parsed[1]) ||
    parsed[1].length !== keyCount ||
    !parsed[1].every((v: unknown, i: number) => {
      if (v === null) return !isNotNull(i)
      if (typeof v !== 'string') return false
      const type = typeOf(i)
      return type === undefined || fitsType(v, type)
    })
  ) {
    throw invalid()
  }
  return { sort, values: parsed[1] as (string | null)[] }
}
