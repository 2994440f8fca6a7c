import pg from 'pg'
import { sql } from 'kysely'
import type {
  EventTransport,
  TransportEnvelope,
  TransportPublishArgs,
  TransportPublishInTransactionArgs,
  TransportStartArgs,
} from './event-transport.js'

/**
 * Options of a {@link PostgresTransport}: the shared server, the channel, reconnection.
 *
 * @example
 * ```ts
 * new PostgresTransport({ url: process.env.DATABASE_URL!, channel: 'chat_events' })
 * ```
 */
export interface PostgresTransportOptions {
  /** The PostgreSQL server all processes share (`postgres://…`); usually the app's `DATABASE_URL`. */
  readonly url: string
  /** The LISTEN/NOTIFY channel: letters, digits and `_`. Default `fastkit_events`. */
  readonly channel?: string
  /** Shown in `pg_stat_activity` for the transport's two connections. Default `fastkit-events`. */
  readonly applicationName?: string
  /** First wait before re-opening a lost LISTEN connection; doubles up to `maxReconnectDelayMs`. Default 100. */
  readonly minReconnectDelayMs?: number
  /** Default 5 000. */
  readonly maxReconnectDelayMs?: number
}

/** PostgreSQL refuses NOTIFY payloads of 8 000 bytes or more; this leaves room for the chunk header. */
const CHUNK_CHARS = 7_800
/** Incomplete chunked envelopes kept at most (a sender that died mid-envelope leaves one behind). */
const MAX_PARTIALS = 256

/**
 * Carries events between processes that share one PostgreSQL server, with LISTEN/NOTIFY: no extra
 * infrastructure. Each transport holds one dedicated connection that LISTENs (re-opened with backoff
 * when lost; events sent meanwhile are missed) and one that NOTIFYs.
 *
 * A NOTIFY payload must stay under 8 000 bytes, so larger envelopes are split into chunks sent by one
 * statement: PostgreSQL delivers all of a transaction's notifications together and in order, and the
 * receiver reassembles them. JSON is escaped to ASCII first, so a chunk never splits a character.
 * Not for PGlite, which only one process can open: use {@link MemoryTransport} there.
 *
 * It implements `publishInTransaction`: the events of a unit of work are NOTIFYed on the unit's own
 * connection just before its COMMIT (queued together with it when the unit offers
 * `sendWithCommit`), so they leave with the commit (never after a rollback) and
 * PostgreSQL delivers them to every process, this one included, in commit order. For that, `url`
 * must name the same database as the app's `db` (notifications do not cross databases).
 *
 * @example
 * ```ts
 * await app.register(fastkitEvents, { transport: new PostgresTransport({ url: process.env.DATABASE_URL! }) })
 * ```
 */
export class PostgresTransport implements EventTransport {
  readonly name = 'postgres'
  readonly #url: string
  readonly #channel: string
  readonly #applicationName: string
  readonly #minDelay: number
  readonly #maxDelay: number
  #delay: number
  #receive: TransportStartArgs['receive'] = () => {}
  #onError: TransportStartArgs['onError'] = () => {}
  #pool: pg.Pool | undefined
  #client: pg.Client | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false
  readonly #partials = new Map<string, { parts: (string | undefined)[]; missing: number }>()

  constructor(options: PostgresTransportOptions) {
    this.#url = options.url
    this.#channel = options.channel ?? 'fastkit_events'
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.#channel)) {
      throw new TypeError(`PostgresTransport: channel "${this.#channel}" must be letters, digits and _ (at most 63)`)
    }
    this.#applicationName = options.applicationName ?? 'fastkit-events'
    this.#minDelay = options.minReconnectDelayMs ?? 100
    this.#maxDelay = options.maxReconnectDelayMs ?? 5_000
    this.#delay = this.#minDelay
  }

  /** Whether the LISTEN connection is up right now. */
  get listening(): boolean {
    return this.#client !== undefined
  }

  async start({ receive, onError }: TransportStartArgs): Promise<void> {
    this.#receive = receive
    this.#onError = onError
    this.#pool = new pg.Pool({
      connectionString: this.#url,
      // One connection: NOTIFYs leave one after the other, so they arrive in publish order.
      max: 1,
      application_name: this.#applicationName,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    })
    this.#pool.on('error', () => {})
    // Fails the start when the server cannot be reached: a misconfiguration should stop the boot.
    await this.#listen()
  }

  async publish({ envelope }: TransportPublishArgs): Promise<void> {
    if (!this.#pool) throw new Error('PostgresTransport: publish before start')
    // One statement, hence one transaction: its notifications are delivered together (in whatever
    // order; the receiver places chunks by index) and before those of the next publish.
    await this.#pool.query('select pg_notify($1, chunk) from unnest($2::text[]) as chunk', [this.#channel, toChunks(envelope)])
  }

  /**
   * NOTIFYs `envelope` (marked `transactional`) on the unit of work's connection, so that it is part
   * of the unit's transaction: delivered at its commit, dropped by its rollback. When the unit offers
   * `sendWithCommit`, the NOTIFY is queued to go out with the COMMIT (no wait for its answer in
   * between); otherwise it runs through `db` at once.
   */
  async publishInTransaction({ db, envelope, sendWithCommit }: TransportPublishInTransactionArgs): Promise<void> {
    const chunks = toChunks({ ...envelope, transactional: true })
    const notify = sql`select pg_notify(${this.#channel}, chunk) from unnest(${chunks}::text[]) as chunk`
    if (sendWithCommit) sendWithCommit(notify.compile(db))
    else await notify.execute(db)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    this.#partials.clear()
    await client?.end().catch(() => {})
    await this.#pool?.end().catch(() => {})
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#url,
      application_name: this.#applicationName,
      connectionTimeoutMillis: 5_000,
      // A LISTEN connection is idle for long stretches: keepalive notices a silently dead peer.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    })
    let lost = false
    const onLost = () => {
      if (lost) return
      lost = true
      if (this.#client === client) this.#lost(client)
    }
    client.on('error', (error) => {
      this.#onError(error)
      onLost()
    })
    client.on('end', onLost)
    client.on('notification', (notification) => {
      if (this.#client === client && notification.channel === this.#channel) this.#onPayload(notification.payload ?? '')
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${this.#channel}"`)
      if (lost) throw new Error('PostgresTransport: the LISTEN connection closed while opening')
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    this.#delay = this.#minDelay
  }

  #lost(client: pg.Client): void {
    this.#client = undefined
    // Chunks of an envelope cut by the disconnection can never complete.
    this.#partials.clear()
    client.end().catch(() => {})
    this.#reconnectLater()
  }

  #reconnectLater(): void {
    if (this.#closed || this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#listen().catch((error: unknown) => {
        this.#onError(error)
        this.#delay = Math.min(this.#delay * 2, this.#maxDelay)
        this.#reconnectLater()
      })
    }, this.#delay)
    this.#timer.unref()
  }

  #onPayload(payload: string): void {
    const header = /^([^:]+):(\d+):(\d+):(\d+):/.exec(payload)
    if (!header) return
    const [prefix, origin, seq, indexText, totalText] = header as unknown as [string, string, string, string, string]
    const index = Number(indexText)
    const total = Number(totalText)
    const part = payload.slice(prefix.length)
    if (total === 1) return this.#deliver(part)
    const key = `${origin}:${seq}`
    let partial = this.#partials.get(key)
    if (!partial) {
      if (this.#partials.size >= MAX_PARTIALS) this.#partials.delete(this.#partials.keys().next().value!)
      partial = { parts: new Array<string | undefined>(total), missing: total }
      this.#partials.set(key, partial)
    }
    if (index >= total || partial.parts[index] !== undefined) return
    partial.parts[index] = part
    if (--partial.missing > 0) return
    this.#partials.delete(key)
    this.#deliver(partial.parts.join(''))
  }

  #deliver(json: string): void {
    let envelope: TransportEnvelope
    try {
      envelope = JSON.parse(json) as TransportEnvelope
    } catch (error) {
      this.#onError(error)
      return
    }
    this.#receive(envelope)
  }
}

/** `origin:seq:index:total:` + a slice of the envelope's JSON, each under NOTIFY's payload limit. */
function toChunks(envelope: TransportEnvelope): string[] {
  const body = toAsciiJson(envelope)
  const total = Math.max(1, Math.ceil(body.length / CHUNK_CHARS))
  const chunks: string[] = []
  for (let index = 0; index < total; index++) {
    chunks.push(`${envelope.origin}:${envelope.seq}:${index}:${total}:${body.slice(index * CHUNK_CHARS, (index + 1) * CHUNK_CHARS)}`)
  }
  return chunks
}

/** JSON with every non-ASCII character escaped: one character per byte, so chunks split anywhere. */
function toAsciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
