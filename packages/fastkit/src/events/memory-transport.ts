import type { EventTransport, TransportEnvelope, TransportPublishArgs, TransportStartArgs } from './event-transport.js'

/**
 * The in-process "wire" memory transports broadcast on. Transports that share a hub hear each other,
 * which lets two apps in one process (e.g. in a test) behave like two processes.
 *
 * @example
 * ```ts
 * const hub = new MemoryHub()
 * const a = new EventBus({ transport: new MemoryTransport({ hub }) })
 * const b = new EventBus({ transport: new MemoryTransport({ hub }) })
 * ```
 */
export class MemoryHub {
  readonly #receivers = new Set<(envelope: TransportEnvelope) => void>()

  /** @internal */
  join(receiver: (envelope: TransportEnvelope) => void): () => void {
    this.#receivers.add(receiver)
    return () => this.#receivers.delete(receiver)
  }

  /** @internal */
  broadcast(envelope: TransportEnvelope): void {
    for (const receiver of this.#receivers) receiver(envelope)
  }
}

/**
 * Options of a {@link MemoryTransport}: the hub it broadcasts on.
 *
 * @example
 * ```ts
 * const hub = new MemoryHub()
 * const a = new MemoryTransport({ hub }), b = new MemoryTransport({ hub }) // two "processes" in one test
 * ```
 */
export interface MemoryTransportOptions {
  /** Share one hub between transports that should hear each other. Default: a private hub. */
  readonly hub?: MemoryHub
}

/**
 * The default transport: events stay inside this process. Right for one server process (and for an
 * embedded PGlite, which only one process can open).
 *
 * @example
 * ```ts
 * await app.register(fastkitEvents, { transport: new MemoryTransport() })
 * ```
 */
export class MemoryTransport implements EventTransport {
  readonly name = 'memory'
  readonly #hub: MemoryHub
  #leave: (() => void) | undefined

  constructor(options: MemoryTransportOptions = {}) {
    this.#hub = options.hub ?? new MemoryHub()
  }

  async start({ receive }: TransportStartArgs): Promise<void> {
    this.#leave?.()
    this.#leave = this.#hub.join(receive)
  }

  async publish({ envelope }: TransportPublishArgs): Promise<void> {
    // Through JSON, as over a network: receivers must not share (or mutate) the sender's objects.
    const copy = JSON.parse(JSON.stringify(envelope)) as TransportEnvelope
    // Asynchronously, as over a network, but in order: microtasks run first-in first-out.
    queueMicrotask(() => this.#hub.broadcast(copy))
  }

  async close(): Promise<void> {
    this.#leave?.()
    this.#leave = undefined
  }
}
