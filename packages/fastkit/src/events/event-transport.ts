import type { CompiledQuery, Kysely } from 'kysely'

/**
 * One real-time event: what happened (`type`, `data`) and who may hear it (`topics`). `data` travels as
 * JSON, so it must be JSON-serializable; every subscriber, local or in another process, sees its JSON
 * form (a `Date` arrives as an ISO string).
 *
 * @example
 * ```ts
 * const message: EventMessage = { topics: ['user:42'], type: 'message.created', data: { id: '…' } }
 * ```
 */
export interface EventMessage<Type extends string = string, Data = unknown> {
  /** Where the event goes. A subscriber of several of these topics still gets it once. */
  readonly topics: readonly string[]
  readonly type: Type
  readonly data: Data
}

/**
 * What a transport carries between processes: a batch of messages from one {@link EventBus}. `origin`
 * is the sending bus's id (so a bus can drop its own echo) and `seq` grows by one per envelope from
 * that origin (so a receiver can drop a repeat).
 */
export interface TransportEnvelope {
  readonly origin: string
  readonly seq: number
  readonly messages: readonly EventMessage[]
  /**
   * Set on envelopes sent with {@link EventTransport.publishInTransaction}: every bus delivers them,
   * the sender included, and in the order they arrive (commit order, not `seq` order).
   */
  readonly transactional?: boolean
}

/** Arguments of {@link EventTransport.start}. */
export interface TransportStartArgs {
  /** Hands a received envelope to the bus. Call it in the order envelopes arrive. */
  readonly receive: (envelope: TransportEnvelope) => void
  /** Reports a failure the transport recovered from (a lost connection it re-opens). */
  readonly onError: (error: unknown) => void
}

/** Arguments of {@link EventTransport.publish}. */
export interface TransportPublishArgs {
  readonly envelope: TransportEnvelope
}

/** Arguments of {@link EventTransport.publishInTransaction}. */
export interface TransportPublishInTransactionArgs {
  /** The unit of work's query builder: what is sent through it commits, or not, with the unit. */
  readonly db: Kysely<any>
  readonly envelope: TransportEnvelope
  /**
   * Set when `db` belongs to a unit of work (see `UnitOfWork.sendWithCommit`): queues a statement
   * to go out on the unit's connection right before its COMMIT, with the COMMIT queued right behind
   * it, so the unit's locks are not held while the app gets the statement's answer. Nothing is sent
   * now and nothing is returned: a failure of the statement fails the commit. A transport whose
   * in-transaction send is one last statement whose result it does not need should prefer it to
   * running the statement through `db`.
   */
  readonly sendWithCommit?: (query: CompiledQuery) => void
}

/**
 * Carries events between the processes of one app. The {@link EventBus} delivers to its own process's
 * subscribers itself and ignores its own envelopes coming back, so a transport only has to broadcast:
 * every envelope to every started transport on the same channel (its own included or not, either is
 * fine), in the order `publish` was called. The bus calls `publish` one envelope at a time.
 *
 * A transport that can send inside the database transaction implements `publishInTransaction`; the
 * bus then sends a unit of work's events that way (see {@link EventPublisher}) and delivers them to no
 * one itself: every process, the sender included, delivers them when the transport brings them back,
 * so all processes see them in the database's commit order.
 *
 * Delivery between processes is at most once: an envelope sent while a receiver is reconnecting is
 * lost to it. Clients catch up from the API after a reconnect (`GET /messages?after=…`).
 *
 * Hooks take one readonly args object so fields can be added without breaking implementations.
 *
 * @example
 * ```ts
 * class LogTransport implements EventTransport {
 *   readonly name = 'log'
 *   async start(_args: TransportStartArgs) {}
 *   async publish({ envelope }: TransportPublishArgs) { console.log(envelope) }
 *   async close() {}
 * }
 * ```
 */
export interface EventTransport {
  /** Short name for logs: `memory`, `postgres`, `redis`. */
  readonly name: string
  /** Connects and starts receiving. Called once, before any `publish`. */
  start(args: TransportStartArgs): Promise<void>
  /** Broadcasts one envelope. Resolves once it is handed over (e.g. the NOTIFY committed). */
  publish(args: TransportPublishArgs): Promise<void>
  /**
   * Optional. Queues one envelope (marked `transactional`) inside the transaction `db` runs in: it
   * goes out if and when that transaction commits, to every started transport on the channel, this
   * one included, in commit order across transactions and in call order within one. May be called
   * before `start`. A failure rejects, which fails the commit.
   */
  publishInTransaction?(args: TransportPublishInTransactionArgs): Promise<void>
  /** Stops receiving and releases connections. */
  close(): Promise<void>
}
