/**
 * Escapes the LIKE wildcards `%` and `_` (and the escape character `\` itself) in user text, so that it
 * matches literally inside a LIKE / ILIKE pattern (PostgreSQL's default escape character is `\`).
 *
 * @example
 * ```ts
 * escapeLike('50%_off') // '50\\%\\_off'
 * // usernames that end with what the user typed, taken literally (likePrefix/likeContains build the others)
 * const endingIn = (text: string) => db.selectFrom('users').selectAll().where('username', 'ilike', `%${escapeLike(text)}`)
 * ```
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}

/**
 * A LIKE pattern matching values that start with `text` (taken literally).
 *
 * @example
 * ```ts
 * await users.findMany({ where: { username: { ilike: likePrefix('an') } } }) // ann, andrea, not joan
 * ```
 */
export function likePrefix(text: string): string {
  return `${escapeLike(text)}%`
}

/**
 * A LIKE pattern matching values that contain `text` (taken literally) anywhere.
 *
 * @example
 * ```ts
 * await users.findMany({ where: { username: { ilike: likeContains('an') } } }) // ann, joan
 * ```
 */
export function likeContains(text: string): string {
  return `%${escapeLike(text)}%`
}
