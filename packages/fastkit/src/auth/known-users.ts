/** Options of {@link KnownUsers}. */
export interface KnownUsersOptions {
  /** Whether a user with this id exists (one query, e.g. `select 1 from users where id = $1`). */
  readonly exists: (userId: string) => Promise<boolean>
  /** How long a confirmed user is trusted without asking again, in ms. Default 60 000. */
  readonly ttlMs?: number
  /** Most users remembered; the least recently confirmed are forgotten first. Default 10 000. */
  readonly maxSize?: number
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * Which token subjects still exist, remembered per process: the first request of a user (and then one
 * per `ttlMs`) asks the database, every other request costs a map lookup. Concurrent first requests
 * of one user share one query. A deleted account is {@link forget}-ed at once (through the session
 * end of the deletion); a user deleted by other means is noticed within `ttlMs`.
 *
 * @example
 * ```ts
 * const users = new KnownUsers({ exists: async (id) => !!(await db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) })
 * if (!(await users.exists(user.id))) throw new UnauthorizedError('Unknown user')
 * ```
 */
export class KnownUsers {
  readonly #confirmed = new Map<string, number>()
  readonly #pending = new Map<string, Promise<boolean>>()
  readonly #lookup: (userId: string) => Promise<boolean>
  readonly #ttlMs: number
  readonly #maxSize: number
  readonly #now: () => number

  constructor(options: KnownUsersOptions) {
    this.#lookup = options.exists
    this.#ttlMs = options.ttlMs ?? 60_000
    this.#maxSize = options.maxSize ?? 10_000
    this.#now = options.now ?? Date.now
  }

  /** Whether `userId` was confirmed within `ttlMs` (then {@link exists} answers true from memory). */
  isConfirmed(userId: string): boolean {
    const confirmedAt = this.#confirmed.get(userId)
    return confirmedAt !== undefined && this.#now() - confirmedAt < this.#ttlMs
  }

  /** Whether `userId` exists: from memory when confirmed within `ttlMs`, else from `exists`. */
  exists(userId: string): Promise<boolean> {
    if (this.isConfirmed(userId)) return Promise.resolve(true)
    let pending = this.#pending.get(userId)
    if (!pending) {
      pending = this.#lookup(userId)
        .then((found) => {
          this.#confirmed.delete(userId)
          if (found) {
            this.#confirmed.set(userId, this.#now())
            if (this.#confirmed.size > this.#maxSize) this.#confirmed.delete(this.#confirmed.keys().next().value!)
          }
          return found
        })
        .finally(() => this.#pending.delete(userId))
      this.#pending.set(userId, pending)
    }
    return pending
  }

  /** Forgets `userId`, so the next request asks again (an account was deleted). */
  forget(userId: string): void {
    this.#confirmed.delete(userId)
  }
}
