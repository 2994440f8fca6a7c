import * as argon2 from 'argon2'
import { randomBytes } from 'node:crypto'
import { HashQueue, type HashQueueOptions } from './hash-queue.js'
import { assertPasswordAcceptable, MAX_PASSWORD_LENGTH, type PasswordHasher } from './password-hasher.js'

/** Argon2id cost parameters. */
export interface Argon2Parameters {
  /** Memory in KiB. Default 19456 (19 MiB), OWASP's recommended minimum for argon2id. */
  readonly memoryCost?: number
  /** Iterations. Default 2. */
  readonly timeCost?: number
  /** Lanes. Default 1. */
  readonly parallelism?: number
}

/**
 * The two functions of the `argon2` package the hasher calls. Replaceable so a test can count calls;
 * production code leaves it alone.
 */
export interface Argon2Binding {
  hash(password: string, options: { type: 2; memoryCost: number; timeCost: number; parallelism: number }): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
}

/**
 * Options of an {@link Argon2PasswordHasher}: argon2id cost, the longest password, the binding.
 *
 * @example
 * ```ts
 * new Argon2PasswordHasher({ memoryCost: 8192, timeCost: 1 }) // cheaper, e.g. for tests
 * ```
 */
export interface Argon2PasswordHasherOptions extends Argon2Parameters {
  /** Longest accepted password. Default {@link MAX_PASSWORD_LENGTH} (128). */
  readonly maxPasswordLength?: number
  /** The argon2 implementation. Default: the `argon2` package. */
  readonly binding?: Argon2Binding
  /**
   * The bounded queue every hash and verification runs through (503 when full): a {@link HashQueue},
   * e.g. one shared with another hasher, or options for a new one. Default: `new HashQueue()`.
   */
  readonly queue?: HashQueue | HashQueueOptions
}

const ARGON2ID_VERSION = 19
const PHC = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/

/**
 * A {@link PasswordHasher} with argon2id at OWASP's recommended cost (m=19456 KiB, t=2, p=1).
 *
 * The `argon2` package hashes in libuv's thread pool, so hashing never blocks the event loop. Each hash
 * still takes a core and 19 MiB for tens of milliseconds, so every call runs through a bounded
 * {@link HashQueue} (about one hash per core at a time, a bounded wait): beyond it, `hash` and `verify`
 * throw `ServiceUnavailableError` (503 with `Retry-After`) instead of queueing without end.
 * Raising the cost later is safe: {@link needsRehash} reports old hashes, which the app upgrades at the
 * next successful login.
 *
 * @example
 * ```ts
 * const hasher = new Argon2PasswordHasher()            // OWASP defaults
 * const hash = await hasher.hash('correct horse battery staple')
 * await hasher.verify({ hash, password: 'correct horse battery staple' }) // true
 * ```
 */
export class Argon2PasswordHasher implements PasswordHasher {
  readonly parameters: Required<Argon2Parameters>
  readonly maxPasswordLength: number
  /** The queue this hasher's argon2 calls wait in (its `running` and `queued` counts are metrics). */
  readonly queue: HashQueue
  readonly #binding: Argon2Binding
  #dummy: Promise<string> | undefined

  constructor(options: Argon2PasswordHasherOptions = {}) {
    this.parameters = {
      memoryCost: options.memoryCost ?? 19_456,
      timeCost: options.timeCost ?? 2,
      parallelism: options.parallelism ?? 1,
    }
    this.maxPasswordLength = options.maxPasswordLength ?? MAX_PASSWORD_LENGTH
    this.#binding = options.binding ?? (argon2 as unknown as Argon2Binding)
    this.queue = options.queue instanceof HashQueue ? options.queue : new HashQueue(options.queue)
  }

  async hash(password: string): Promise<string> {
    assertPasswordAcceptable(password, this.maxPasswordLength)
    return this.queue.run(() => this.#binding.hash(password, { type: argon2.argon2id, ...this.parameters }))
  }

  async verify(args: { readonly hash: string; readonly password: string }): Promise<boolean> {
    assertPasswordAcceptable(args.password, this.maxPasswordLength)
    return this.queue.run(() => this.#binding.verify(args.hash, args.password))
  }

  async verifyDummy(password: string): Promise<false> {
    assertPasswordAcceptable(password, this.maxPasswordLength)
    const dummy = await this.#dummyHash()
    await this.queue.run(() => this.#binding.verify(dummy, password))
    return false
  }

  needsRehash(hash: string): boolean {
    const match = PHC.exec(hash)
    if (!match) return true
    const [, type, version, m, t, p] = match
    return (
      type !== 'argon2id' ||
      Number(version) !== ARGON2ID_VERSION ||
      Number(m) !== this.parameters.memoryCost ||
      Number(t) !== this.parameters.timeCost ||
      Number(p) !== this.parameters.parallelism
    )
  }

  /**
   * Computes the dummy hash now, so the first unknown-user login costs no more than later ones.
   * Optional: without it the dummy is made on first use.
   */
  async warmUp(): Promise<void> {
    await this.#dummyHash()
  }

  #dummyHash(): Promise<string> {
    if (!this.#dummy) {
      const dummy = this.queue.run(() => this.#binding.hash(randomBytes(32).toString('base64url'), { type: argon2.argon2id, ...this.parameters }))
      // A failed attempt must not be cached forever.
      dummy.catch(() => {
        if (this.#dummy === dummy) this.#dummy = undefined
      })
      this.#dummy = dummy
    }
    return this.#dummy
  }
}
