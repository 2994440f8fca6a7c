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

/**
 * Carries events between the processes of one app. The {@link EventBus} delivers to its own process's
 * subscribers itself and ignores its own envelopes coming back, so a transport only has to broadcast:
 * every envelope to every started transport on the same channel (its own included or not, either is
 * fine), in the order `publish` was called. The bus calls `publish` one envelope at a time.
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
  /** Stops receiving and releases connections. */
  close(): Promise<void>
}
