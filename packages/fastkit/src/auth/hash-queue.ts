import { availableParallelism } from 'node:os'
import { ServiceUnavailableError } from '../http/errors.js'

/**
 * Options of a {@link HashQueue}.
 *
 * @example
 * ```ts
 * new HashQueue({ concurrency: 2, maxQueued: 32, maxWaitMs: 2_000 })
 * ```
 */
export interface HashQueueOptions {
  /**
   * Hashes running at once. Default: one less than the number of cores (at least 1), so the event loop
   * keeps a core for every other request, and one less than libuv's thread pool (`UV_THREADPOOL_SIZE`,
   * 4 by default), so file and DNS work always find a free thread.
   */
  readonly concurrency?: number
  /** Hashes waiting for a slot; one more is refused with 503. Default 64. */
  readonly maxQueued?: number
  /** Longest a hash may wait for a slot before it is refused with 503. Default 10 000 ms. */
  readonly maxWaitMs?: number
  /** The `Retry-After` of a refusal, in seconds. Default 1. */
  readonly retryAfterSeconds?: number
}

interface Waiter {
  start(): void
  timer: NodeJS.Timeout | undefined
}

/**
 * A bounded queue for CPU- and memory-hungry work such as argon2: at most `concurrency` tasks run, at
 * most `maxQueued` wait, none waits longer than `maxWaitMs`. Work beyond that is refused at once with
 * `ServiceUnavailableError` (503 with `Retry-After`), so a flood of registrations or logins costs the
 * server a bounded share of its cores instead of an unbounded queue of 19 MiB hashes.
 * {@link Argon2PasswordHasher} runs every hash and verification through one.
 *
 * @example
 * ```ts
 * const queue = new HashQueue({ concurrency: 2 })
 * const hasher = new Argon2PasswordHasher()
 * const hash = await queue.run(() => hasher.hash('correct horse battery staple')) // or a 503 when the queue is full
 * ```
 */
export class HashQueue {
  readonly concurrency: number
  readonly maxQueued: number
  readonly maxWaitMs: number
  readonly retryAfterSeconds: number
  readonly #waiting: Waiter[] = []
  #running = 0

  constructor(options: HashQueueOptions = {}) {
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4
    this.concurrency = options.concurrency ?? Math.max(1, Math.min(availableParallelism() - 1, pool - 1))
    // A burst of a few dozen sign-ups is normal traffic, not a flood; the wait bound refuses the rest.
    this.maxQueued = options.maxQueued ?? 64
    this.maxWaitMs = options.maxWaitMs ?? 10_000
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1
    if (!(this.concurrency >= 1) || !(this.maxQueued >= 0) || !(this.maxWaitMs >= 0)) {
      throw new RangeError('HashQueue: concurrency must be >= 1, maxQueued and maxWaitMs >= 0')
    }
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.#waiting.length
  }

  /** Runs `task` when a slot is free; throws `ServiceUnavailableError` if the queue is full or the wait too long. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) await this.#slot()
    else this.#running++
    try {
      return await task()
    } finally {
      this.#next()
    }
  }

  /** Waits until a finishing task hands its slot over (the running count stays as it is). */
  #slot(): Promise<void> {
    if (this.#waiting.length >= this.maxQueued) return Promise.reject(this.#busy())
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer)
          resolve()
        },
        timer: setTimeout(() => {
          const index = this.#waiting.indexOf(waiter)
          if (index >= 0) this.#waiting.splice(index, 1)
          reject(this.#busy())
        }, this.maxWaitMs),
      }
      this.#waiting.push(waiter)
    })
  }

  #next(): void {
    const waiter = this.#waiting.shift()
    if (waiter) waiter.start()
    else this.#running--
  }

  #busy(): ServiceUnavailableError {
    return new ServiceUnavailableError('The server is busy hashing passwords; try again shortly', {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(this.retryAfterSeconds))) },
    })
  }
}
