import { randomUUID } from 'node:crypto'
import type { CompiledQuery, Kysely } from 'kysely'
import type { UnitOfWork } from '../uow/unit-of-work.js'
import { MemoryTransport } from './memory-transport.js'
import type { EventMessage, EventTransport, TransportEnvelope } from './event-transport.js'
import type { TableFeed } from './table-feed.js'

/** Up to this many subscribed topics, `deliver` looks them up in each message instead of the reverse. */
const FEW_TOPICS = 4

/** Receives the events of the topics it subscribed to. Must not throw (a throw is reported and skipped). */
export type EventListener = (message: EventMessage) => void

/**
 * Options of an {@link EventBus}: its transport, error reporting and batching.
 *
 * @example
 * ```ts
 * new EventBus({ transport: new RedisTransport({ url: process.env.REDIS_URL }), onError: (e) => app.log.error(e) })
 * ```
 */
export interface EventBusOptions {
  /** How events reach the app's other processes. Default: a {@link MemoryTransport} (this process only). */
  readonly transport?: EventTransport
  /** Where transport and listener failures are reported. Default: `console.error`. */
  readonly onError?: (error: unknown) => void
  /** Most messages per envelope handed to the transport. Default 100. */
  readonly maxBatch?: number
}

/**
 * The process-wide event switch (one per app, a singleton in `app.container`). `publish` delivers to
 * this process's subscribers at once and hands the messages to the transport, which carries them to
 * the other processes; what the transport brings in from other processes is delivered here too.
 * Every message reaches each subscriber of this process exactly once: the bus drops its own envelopes
 * when the transport echoes them back, and repeats of an envelope already seen.
 *
 * Messages published by one bus reach every other bus in publish order.
 *
 * Inside a request, publish through the request's {@link EventPublisher} instead, so that events
 * leave only after the transaction commits. When the transport can send inside the transaction
 * ({@link transactional}, e.g. PostgreSQL), those events are not delivered here at publish time:
 * every process, this one included, delivers them when the transport brings them, so all see them
 * in the database's commit order. Otherwise (memory, Redis) they go out after the commit, and other
 * processes see them in each publishing process's order only: clients that need one order across
 * processes sort by what the data carries (the chat's messages by `(createdAt, id)`).
 *
 * @example
 * ```ts
 * const bus = new EventBus({ transport: new PostgresTransport({ url }) })
 * await bus.start()
 * const off = bus.subscribe(['user:42'], (message) => console.log(message.type, message.data))
 * await bus.publish({ topics: ['user:42'], type: 'hello', data: {} })
 * off()
 * ```
 */
export class EventBus {
  /** This bus's id; envelopes carry it as `origin`. */
  readonly id: string = randomUUID()
  readonly transport: EventTransport
  readonly #onError: (error: unknown) => void
  readonly #maxBatch: number
  readonly #subscriptions = new Map<string, Set<EventListener>>()
  readonly #lastSeq = new Map<string, number>()
  #outbox: EventMessage[] = []
  #flushing: Promise<void> | undefined
  #seq = 0
  #state: 'new' | 'starting' | 'started' | 'closed' = 'new'
  #starting: Promise<void> | undefined

  constructor(options: EventBusOptions = {}) {
    this.transport = options.transport ?? new MemoryTransport()
    this.#onError = options.onError ?? ((error) => console.error('fastkit: event bus error', error))
    this.#maxBatch = options.maxBatch ?? 100
  }

  /** Whether the transport can send inside a database transaction ({@link publishInTransaction}). */
  get transactional(): boolean {
    return typeof this.transport.publishInTransaction === 'function'
  }

  /** Starts the transport. Messages published before that are delivered locally and sent once started. */
  start(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new Error('This event bus is closed'))
    this.#starting ??= (async () => {
      this.#state = 'starting'
      await this.transport.start({ receive: (envelope) => this.#receive(envelope), onError: this.#onError })
      if (this.#state !== 'starting') return
      this.#state = 'started'
      await this.#flush()
    })()
    return this.#starting
  }

  /**
   * Delivers `messages` to this process's subscribers now, and to the other processes through the
   * transport. `data` is copied through JSON first, so later changes to it are not seen and every
   * subscriber gets the same JSON shape. Resolves once the transport took the messages and never
   * rejects: a transport failure is reported to `onError`. Throws (synchronously) on a malformed
   * message or a closed bus.
   */
  publish(messages: EventMessage | readonly EventMessage[]): Promise<void> {
    if (this.#state === 'closed') throw new Error('This event bus is closed')
    const list = snapshotMessages(Array.isArray(messages) ? (messages as readonly EventMessage[]) : [messages as EventMessage])
    this.#deliver(list)
    this.#outbox.push(...list)
    return this.#state === 'started' ? this.#flush() : Promise.resolve()
  }

  /**
   * Delivers `messages` to this process's subscribers only, at once; the transport is not used. For
   * events every process derives by itself, such as the rows a {@link TableFeed} reads in each
   * process. `data` is copied through JSON, as by {@link publish}. Throws on a malformed message or
   * a closed bus.
   *
   * @example
   * ```ts
   * declare const bus: EventBus
   * bus.deliver({ topics: ['user:42'], type: 'message.created', data: { id: '…', text: 'hi' } })
   * ```
   */
  deliver(messages: EventMessage | readonly EventMessage[]): void {
    if (this.#state === 'closed') throw new Error('This event bus is closed')
    const list = Array.isArray(messages) ? (messages as readonly EventMessage[]) : [messages as EventMessage]
    for (const message of list) assertMessage(message)
    // Only a message that reaches someone here is copied: a process's feed derives every message,
    // and most of them reach nobody connected to it.
    for (const message of list) if (this.#reachesAnyone(message)) this.#deliver([snapshot(message)])
  }

  /**
   * Sends `messages` through the transport inside the transaction `target` runs in (a unit of work,
   * or its `db`, from its `beforeCommit`), and delivers them to no one now: this bus, like every
   * other, delivers them when the transport brings them back after the commit. Rejects when the
   * transport cannot do that ({@link transactional} is false) or fails, which fails the commit. Works
   * on a bus that is not started or already closed (the NOTIFY needs only the database; the other
   * processes still hear it).
   *
   * Given the unit itself, the transport may queue its statement to go out together with the
   * unit's COMMIT ({@link UnitOfWork.sendWithCommit}) instead of running it at once: the unit's
   * locks are then held for one trip through the app less. A failure then fails the commit.
   *
   * @example
   * ```ts
   * uow.beforeCommit(() => app.events.publishInTransaction(uow, { topics: ['user:42'], type: 'hello', data: {} }))
   * ```
   */
  async publishInTransaction(target: UnitOfWork | Kysely<any>, messages: EventMessage | readonly EventMessage[]): Promise<void> {
    if (!this.transport.publishInTransaction) {
      throw new TypeError(`The ${this.transport.name} transport cannot publish inside a transaction`)
    }
    const list = snapshotMessages(Array.isArray(messages) ? (messages as readonly EventMessage[]) : [messages as EventMessage])
    // Told apart by shape, not `instanceof`: a second copy of fastkit (say, source and build) has a
    // UnitOfWork class of its own. A Kysely instance has no `sendWithCommit`.
    const uow = typeof (target as Partial<UnitOfWork>).sendWithCommit === 'function' ? (target as UnitOfWork) : undefined
    const db = uow ? uow.db : (target as Kysely<any>)
    const sendWithCommit = uow && ((query: CompiledQuery) => uow.sendWithCommit(query))
    for (let start = 0; start < list.length; start += this.#maxBatch) {
      const batch = list.slice(start, start + this.#maxBatch)
      const envelope = { origin: this.id, seq: ++this.#seq, messages: batch, transactional: true }
      await this.transport.publishInTransaction(sendWithCommit ? { db, envelope, sendWithCommit } : { db, envelope })
    }
  }

  /**
   * Calls `listener` for every message on any of `topics`, once per message even when it names
   * several of them. Returns the function that unsubscribes.
   */
  subscribe(topics: string | readonly string[], listener: EventListener): () => void {
    const list = typeof topics === 'string' ? [topics] : [...new Set(topics)]
    for (const topic of list) {
      let listeners = this.#subscriptions.get(topic)
      if (!listeners) this.#subscriptions.set(topic, (listeners = new Set()))
      listeners.add(listener)
    }
    return () => {
      for (const topic of list) {
        const listeners = this.#subscriptions.get(topic)
        if (!listeners) continue
        listeners.delete(listener)
        if (listeners.size === 0) this.#subscriptions.delete(topic)
      }
    }
  }

  /** How many topics have at least one subscriber in this process. */
  get topicCount(): number {
    return this.#subscriptions.size
  }

  /** Sends what is still queued, then closes the transport. Later `publish` calls reject. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    if (this.#state === 'started') await this.#flush()
    this.#state = 'closed'
    this.#outbox = []
    this.#subscriptions.clear()
    await this.transport.close()
  }

  #receive(envelope: TransportEnvelope): void {
    try {
      if (!envelope || !Array.isArray(envelope.messages)) return
      // Sent inside a transaction: nobody delivered it at publish time, and it comes in commit order,
      // which need not be `seq` order (each is NOTIFYed once; PostgreSQL does not repeat).
      if (envelope.transactional === true) return this.#deliver(envelope.messages)
      if (envelope.origin === this.id) return
      const last = this.#lastSeq.get(envelope.origin) ?? 0
      if (!(envelope.seq > last)) return
      this.#lastSeq.set(envelope.origin, envelope.seq)
      this.#deliver(envelope.messages)
    } catch (error) {
      this.#onError(error)
    }
  }

  #reachesAnyone(message: EventMessage): boolean {
    const topics = message.topics
    // A process with a handful of subscribed topics (few or no connections, only a feed's own topic)
    // looks those up in the message's list: comparing strings costs less than hashing each of a
    // message's topics, which are new strings every time (a chat message names every member).
    if (this.#subscriptions.size <= FEW_TOPICS) {
      for (const topic of this.#subscriptions.keys()) if (topics.includes(topic)) return true
      return false
    }
    for (const topic of topics) if (this.#subscriptions.has(topic)) return true
    return false
  }

  #deliver(messages: readonly EventMessage[]): void {
    for (const message of messages) {
      const reached = new Set<EventListener>()
      for (const topic of message.topics) {
        const listeners = this.#subscriptions.get(topic)
        if (!listeners) continue
        for (const listener of listeners) {
          if (reached.has(listener)) continue
          reached.add(listener)
          try {
            listener(message)
          } catch (error) {
            this.#onError(error)
          }
        }
      }
    }
  }

  /** One flush loop at a time keeps envelopes in publish order; whatever queues meanwhile joins the next. */
  #flush(): Promise<void> {
    if (this.#flushing) return this.#flushing
    if (this.#outbox.length === 0) return Promise.resolve()
    const flushing = (async () => {
      // Yield first, so that `#flushing` is set before the loop can end and clear it.
      await undefined
      try {
        while (this.#outbox.length > 0) {
          const messages = this.#outbox.splice(0, this.#maxBatch)
          try {
            await this.transport.publish({ envelope: { origin: this.id, seq: ++this.#seq, messages } })
          } catch (error) {
            this.#onError(error)
          }
        }
      } finally {
        this.#flushing = undefined
      }
    })()
    this.#flushing = flushing
    return flushing
  }
}

function snapshotMessages(messages: readonly EventMessage[]): EventMessage[] {
  return messages.map((message) => {
    assertMessage(message)
    return snapshot(message)
  })
}

function assertMessage(message: EventMessage): void {
  const { topics, type } = message
  if (!Array.isArray(topics) || topics.some((topic) => typeof topic !== 'string')) {
    throw new TypeError('An event needs `topics`: an array of strings')
  }
  if (typeof type !== 'string' || type === '') throw new TypeError('An event needs a `type`')
}

/** A copy of a checked message: its own topics array, and `data` through JSON. */
function snapshot({ topics, type, data }: EventMessage): EventMessage {
  const json = JSON.stringify(data)
  return { topics: [...topics], type, data: json === undefined ? null : JSON.parse(json) }
}
