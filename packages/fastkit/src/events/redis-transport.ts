import type { RedisClientOptions } from '../redis/redis-client-options.js'
import type { EventTransport, TransportEnvelope, TransportPublishArgs, TransportStartArgs } from './event-transport.js'


/** The part of an ioredis client the transport uses. */
export interface RedisConnection {
  on(event: string, listener: (...args: any[]) => void): unknown
  connect(): Promise<void>
  subscribe(channel: string): Promise<unknown>
  publish(channel: string, message: string): Promise<number>
  quit(): Promise<unknown>
  disconnect(): void
}

/**
 * Options of a {@link RedisTransport}: the server, the channel, extra ioredis options.
 *
 * @example
 * ```ts
 * new RedisTransport({ url: process.env.REDIS_URL, channel: 'chat:events' })
 * ```
 */
export interface RedisTransportOptions {
  /** `redis://…` (the app's `REDIS_URL`). Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** The pub/sub channel. Default `fastkit:events`. */
  readonly channel?: string
  /** Extra ioredis options for both connections (TLS, timeouts, a `connectionName`). */
  readonly redis?: RedisClientOptions
}

/**
 * Carries events between processes through Redis pub/sub (ioredis 5, an optional peer dependency
 * loaded on `start`). Two connections: one publishes, one subscribes. ioredis re-opens a lost
 * connection and subscribes again by itself; events published meanwhile are missed by that process.
 * No payload limit to speak of, and Redis delivers one connection's messages in order.
 *
 * @example
 * ```ts
 * const transport = process.env.REDIS_URL ? new RedisTransport({ url: process.env.REDIS_URL }) : undefined
 * await app.register(fastkitEvents, { transport })
 * ```
 */
export class RedisTransport implements EventTransport {
  readonly name = 'redis'
  readonly #url: string
  readonly #channel: string
  readonly #options: RedisClientOptions
  #publisher: RedisConnection | undefined
  #subscriber: RedisConnection | undefined

  constructor(options: RedisTransportOptions = {}) {
    this.#url = options.url ?? 'redis://127.0.0.1:6379'
    this.#channel = options.channel ?? 'fastkit:events'
    this.#options = options.redis ?? {}
  }

  /** The subscribing connection (e.g. to find it in `CLIENT LIST`); `undefined` before start. */
  get subscriber(): RedisConnection | undefined {
    return this.#subscriber
  }

  async start({ receive, onError }: TransportStartArgs): Promise<void> {
    const { Redis } = await import('ioredis')
    const options = { lazyConnect: true, ...this.#options }
    const publisher: RedisConnection = new Redis(this.#url, options)
    const subscriber: RedisConnection = new Redis(this.#url, options)
    this.#publisher = publisher
    this.#subscriber = subscriber
    // Without a listener, ioredis would print every connection error; report them once each instead.
    publisher.on('error', onError)
    subscriber.on('error', onError)
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return
      let envelope: TransportEnvelope
      try {
        envelope = JSON.parse(message) as TransportEnvelope
      } catch (error) {
        onError(error)
        return
      }
      receive(envelope)
    })
    try {
      await Promise.all([publisher.connect(), subscriber.connect()])
      await subscriber.subscribe(this.#channel)
    } catch (error) {
      publisher.disconnect()
      subscriber.disconnect()
      throw error
    }
  }

  async publish({ envelope }: TransportPublishArgs): Promise<void> {
    if (!this.#publisher) throw new Error('RedisTransport: publish before start')
    await this.#publisher.publish(this.#channel, JSON.stringify(envelope))
  }

  async close(): Promise<void> {
    const connections = [this.#publisher, this.#subscriber]
    this.#publisher = this.#subscriber = undefined
    await Promise.all(
      connections.map(async (connection) => {
        if (!connection) return
        try {
          await connection.quit()
        } catch {
          connection.disconnect()
        }
      }),
    )
  }
}
