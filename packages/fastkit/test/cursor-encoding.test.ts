import { describe, expect, test } from 'vitest'
import { isHttpError } from '../src/index.js'
import { decodeCursor, encodeCursor } from '../src/repository/cursor.js'

// A cursor is opaque base64url. Base64url decoding silently drops a trailing character that completes
// no byte, so without a canonical check `cursor + 'x'` decodes to the cursor it altered whenever the
// cursor's length is a multiple of 4 (which depends on the length of the values it carries).
describe('cursor encoding', () => {
  const sort = 'createdAt,id'
  // Values of growing length: their encodings end at every position of a base64 group.
  const cursors = ['', 'a', 'ab', 'abc', 'abcd', 'abcde'].map((pad) =>
    encodeCursor({ sort, values: [`2026-12-02 08:00:00.${pad}1+00`, '0b6f3c1e-8d2a-4f5b-9c7d-1a2b3c4d5e6f'] }),
  )

  test('the cursors under test cover every length modulo 4 that base64url produces', () => {
    expect(new Set(cursors.map((c) => c.length % 4))).toEqual(new Set([0, 2, 3]))
  })

  test('a cursor the server made decodes to its values', () => {
    for (const cursor of cursors) expect(decodeCursor(cursor, sort, 2).values).toHaveLength(2)
  })

  test('a character added to or removed from a cursor makes it invalid (400), whatever its length', () => {
    const refused = (raw: string) => {
      try {
        decodeCursor(raw, sort, 2)
        return false
      } catch (error) {
        return isHttpError(error) && error.status === 400
      }
    }
    for (const cursor of cursors) {
      for (const extra of ['x', 'A', '-', '_']) expect(refused(cursor + extra), `${cursor} + ${extra}`).toBe(true)
      expect(refused(cursor.slice(0, -1)), `${cursor} minus its last character`).toBe(true)
    }
  })
})
