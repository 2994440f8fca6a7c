import type { FieldIssue } from './errors.js'

/** How many issues one request reports at most: enough to fix a form, not a way to make us walk forever. */
const MAX_ISSUES = 10

function problemWith(text: string): string | undefined {
  // PostgreSQL text cannot hold U+0000 (error 22021), and a lone surrogate has no UTF-8 form: the
  // driver would store U+FFFD instead, silently changing what the client sent.
  if (text.includes('\0')) return 'must not contain the NUL character (U+0000)'
  // ES2024's String.prototype.isWellFormed (Node ≥ 20); the project's lib is ES2023.
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) return 'must not contain a lone UTF-16 surrogate (not valid Unicode)'
  return undefined
}

/**
 * Walks `value` keeping the path as a stack of segments, joined only when an issue is found: the
 * common case (nothing wrong) allocates no strings on this per-request path.
 */
function walk(value: unknown, segments: (string | number)[], issues: FieldIssue[]): void {
  if (issues.length >= MAX_ISSUES) return
  if (typeof value === 'string') {
    const message = problemWith(value)
    if (message) issues.push({ path: segments.join('.'), message })
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      segments.push(i)
      walk(value[i], segments, issues)
      segments.pop()
    }
  } else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    for (const key of Object.keys(value)) {
      const keyProblem = problemWith(key)
      if (keyProblem) issues.push({ path: segments.join('.'), message: `has a key that ${keyProblem}` })
      segments.push(key)
      walk((value as Record<string, unknown>)[key], segments, issues)
      segments.pop()
    }
  }
}

/**
 * The strings in `value` (at any depth, keys included) that PostgreSQL cannot store as sent: those
 * with a NUL character (U+0000) or a lone UTF-16 surrogate. Each issue names the field by its dotted
 * path under `part`. The {@link fastkit} plugin runs it on every request's body, querystring and
 * params and refuses such input with a 400 before any SQL runs; call it yourself for input that
 * arrives another way (a WebSocket message).
 *
 * @example
 * ```ts
 * unstorableText({ text: 'a\u0000b' }, 'body') // [{ path: 'body.text', message: 'must not contain the NUL character (U+0000)' }]
 * unstorableText({ text: 'fine' }, 'body')     // []
 * ```
 */
export function unstorableText(value: unknown, part: string): FieldIssue[] {
  const issues: FieldIssue[] = []
  if (value !== undefined && value !== null) walk(value, [part], issues)
  return issues
}
