import { BadRequestError } from '../http/errors.js'

/**
 * A keyset cursor: the sort it belongs to and the text form of the last row's sort values
 * (PostgreSQL's own `::text`, so timestamps keep their microseconds). Opaque to clients: base64url JSON.
 */
export interface Cursor {
  readonly sort: string
  readonly values: readonly (string | null)[]
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.values]), 'utf8').toString('base64url')
}

/**
 * Decodes a cursor made for `sort`; anything else is a 400 (`BAD_REQUEST`), never a 500. A NULL for a
 * key that `isNotNull` says can never be NULL (the id, at least) marks a forged cursor.
 */
export function decodeCursor(raw: string, sort: string, keyCount: number, isNotNull: (index: number) => boolean = () => false): Cursor {
  const invalid = () =>
    new BadRequestError('Invalid cursor: pass the nextCursor of the previous page unchanged, with the same sort', {
      issues: [{ path: 'cursor', message: 'is not a cursor of this list' }],
    })
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(raw)) throw invalid()
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    parsed[0] !== sort ||
    !Array.isArray(parsed[1]) ||
    parsed[1].length !== keyCount ||
    !parsed[1].every((v: unknown, i: number) => (v === null ? !isNotNull(i) : typeof v === 'string'))
  ) {
    throw invalid()
  }
  return { sort, values: parsed[1] as (string | null)[] }
}
