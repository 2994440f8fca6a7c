/**
 * A parser for PostgreSQL's text form of a `timestamptz` as the server writes it with its default
 * `DateStyle` (ISO): `2026-12-03 07:05:25.123456+00`, the offset `+HH`, `+HH:MM` or `+HH:MM:SS`.
 * It gives exactly the Date node-postgres' own parser (`postgres-date`) gives: the same instant,
 * the fraction cut to milliseconds. It reads the digits by position instead of with three regular
 * expressions and `parseInt`, about 3× faster; a list of 50 rows with two timestamps each spent more
 * time in that parser than in any other single function. Anything else (years before 100 or after
 * 9999, BC, `infinity`, another `DateStyle`) goes to `fallback`, node-postgres' parser.
 */
export function timestamptzParser(fallback: (text: string) => unknown): (text: string) => unknown {
  return (text) => {
    const n = text.length
    // `YYYY-MM-DD HH:MM:SS` and at least `+HH`.
    if (n < 22 || text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH || text.charCodeAt(10) !== SPACE || text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON) {
      return fallback(text)
    }
    const year = twoDigits(text, 0) * 100 + twoDigits(text, 2)
    const month = twoDigits(text, 5)
    const day = twoDigits(text, 8)
    const hour = twoDigits(text, 11)
    const minute = twoDigits(text, 14)
    const second = twoDigits(text, 17)
    if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return fallback(text)

    let i = 19
    // The fraction as postgres-date computes it (1000 × 0.123456, later cut to whole milliseconds by
    // Date.UTC); checked against it for every six-digit fraction.
    let ms = 0
    if (text.charCodeAt(i) === DOT) {
      const start = ++i
      let scale = 100
      for (let digit = digitAt(text, i); digit >= 0 && i - start < 6; digit = digitAt(text, ++i)) {
        ms += digit * scale
        scale /= 10
      }
      if (i === start || digitAt(text, i) >= 0) return fallback(text)
    }

    const sign = text.charCodeAt(i)
    if ((sign !== PLUS && sign !== MINUS) || i + 3 > n) return fallback(text)
    let offset = twoDigits(text, i + 1) * 3600
    i += 3
    if (i < n && text.charCodeAt(i) === COLON && i + 3 <= n) {
      offset += twoDigits(text, i + 1) * 60
      i += 3
      if (i < n && text.charCodeAt(i) === COLON && i + 3 <= n) {
        offset += twoDigits(text, i + 1)
        i += 3
      }
    }
    if (i !== n || offset < 0) return fallback(text)
    return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - (sign === MINUS ? -offset : offset) * 1000)
  }
}

/**
 * Whether `parse` reads timestamptz text as node-postgres' own parser does (plain Dates, infinity
 * as a number): a parser an app set before fastkit loaded (strings, Dates with microseconds…) is not.
 */
export function isNodePostgresDateParser(parse: (text: string) => unknown): boolean {
  try {
    const date = parse('2000-01-02 03:04:05.678912+05:30')
    return (
      date instanceof Date &&
      Object.getPrototypeOf(date) === Date.prototype &&
      Reflect.ownKeys(date).length === 0 &&
      date.getTime() === 946_762_445_678 &&
      parse('infinity') === Infinity
    )
  } catch {
    return false
  }
}

const DASH = 45
const SPACE = 32
const COLON = 58
const DOT = 46
const PLUS = 43
const MINUS = 45
const ZERO = 48

/** The digit at `i`, or -1. */
function digitAt(text: string, i: number): number {
  const digit = text.charCodeAt(i) - ZERO
  return digit >= 0 && digit <= 9 ? digit : -1
}

/** The two digits at `i` and `i + 1` as a number, or a large negative number if either is not a digit. */
function twoDigits(text: string, i: number): number {
  const tens = digitAt(text, i)
  const ones = digitAt(text, i + 1)
  return tens < 0 || ones < 0 ? -100_000 : tens * 10 + ones
}
