import { backoffDelay, type BackoffOptions } from './backoff.js'

/** One frame the gateway pushes: `{ type, data }`. */
export interface LiveEvent<Data = any> {
  readonly type: string
  readonly data: Data
}

/**
 * Where a {@link LiveConnection} is:
 * - `connecting`: opening the socket (or getting a token for it);
 * - `syncing`: open, the app's `catchUp` is running (live events wait behind it);
 * - `open`: caught up, events flow as they come;
 * - `offline`: the connection dropped; a retry is scheduled;
 * - `closed`: stopped for good (`close()`, no token, or a close code in `endOn`).
 */
export type LiveStatus = 'connecting' | 'syncing' | 'open' | 'offline' | 'closed'

/** The part of the WHATWG `WebSocket` the connection uses; the browser's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open' | 'close' | 'message' | 'error', listener: (event: any) => void): void
}

/** A `WebSocket` constructor: `globalThis.WebSocket` in browsers, `ws`'s default export in Node. */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike

/** What the token provider is asked for. */
export interface TokenRequest {
  /**
   * `true` when the last token was refused or expired (a close code in `refreshOn`, or a connection
   * that failed before opening, which is how a browser sees a 401 upgrade): get a fresh one.
   */
  readonly refresh: boolean
}

/** What `catchUp` is told. */
export interface CatchUpArgs {
  /** `false` for the first connection, `true` after every reconnect. */
  readonly reconnect: boolean
}

/**
 * Options of {@link connectLive}.
 *
 * @example
 * ```ts
 * const options: LiveConnectionOptions = { url: '/ws', token: () => session.accessToken, onEvent: console.log }
 * ```
 */
export interface LiveConnectionOptions<Event extends LiveEvent = LiveEvent> {
  /** The gateway's URL (`ws://`, `wss://`, or a path resolved against the page's location). */
  readonly url: string | URL
  /**
   * The access token for the next connection, or `null` to stop (logged out). It travels as the
   * `bearer, <token>` subprotocol pair, never in the URL, so it does not reach access logs.
   */
  readonly token: (request: TokenRequest) => string | null | Promise<string | null>
  /** Every event, once (see `eventKey`), in the order received; catch-up results first after a reconnect. */
  readonly onEvent: (event: Event) => void
  /**
   * Called after every open, before live events are handed on (they are held meanwhile): fetch what
   * may have been missed (e.g. `GET /messages?after=<last seen id>`), update the app, and return it
   * as events if they should go through `onEvent` and its de-duplication. A throw drops the
   * connection and retries, so nothing is skipped.
   */
  readonly catchUp?: (args: CatchUpArgs) => void | readonly Event[] | Promise<void | readonly Event[]>
  /** Every status change. */
  readonly onStatus?: (status: LiveStatus) => void
  /** The server ended the session (a close code in `endOn`): log the user out. */
  readonly onEnded?: (code: number, reason: string) => void
  /**
   * Close codes after which the next connection asks the token provider for a fresh token.
   * Default {@link DEFAULT_REFRESH_CLOSE_CODES}.
   */
  readonly refreshOn?: readonly number[]
  /** Close codes that stop reconnecting and call `onEnded`. Default {@link DEFAULT_END_CLOSE_CODES}. */
  readonly endOn?: readonly number[]
  /** Reconnect delays. */
  readonly backoff?: BackoffOptions
  /**
   * The de-duplication key of an event, or `undefined` to never drop it. Default
   * {@link defaultEventKey}: type, `data.id` and `data.updatedAt`.
   */
  readonly eventKey?: (event: Event) => string | undefined
  /** How many recent keys are remembered for de-duplication. Default 5 000. */
  readonly dedupeWindow?: number
  /**
   * How often the client sends `{"type":"ping"}`; a connection that then stays silent for
   * `pongTimeoutMs` is dropped and reconnected (a browser cannot see WebSocket-level pings).
   * Default 25 000; 0 turns it off.
   */
  readonly pingIntervalMs?: number
  /** Default 10 000. */
  readonly pongTimeoutMs?: number
  /** The WebSocket constructor. Default `globalThis.WebSocket`; pass `ws`'s in Node < 22. */
  readonly WebSocket?: WebSocketConstructorLike
}

/** A live connection made by {@link connectLive}. */
export interface LiveConnection {
  /** The current status. */
  readonly status: LiveStatus
  /** Drops the current connection (if any) and reconnects now, without waiting for the backoff. */
  reconnect(): void
  /** Stops for good: closes the socket with 1000 and cancels retries. */
  close(): void
}

/**
 * Close codes after which the token is refreshed: 4001, the 4000-range twin of HTTP 401 (the
 * access token expired or was refused while connected).
 *
 * @example
 * ```ts
 * connectLive({ url: '/ws', token: () => session.accessToken, onEvent: console.log, refreshOn: [...DEFAULT_REFRESH_CLOSE_CODES, 4401] })
 * ```
 */
export const DEFAULT_REFRESH_CLOSE_CODES: readonly number[] = [4001]

/**
 * Close codes that end the session instead of reconnecting: 4003, the session was revoked (logout
 * elsewhere, account deleted).
 *
 * @example
 * ```ts
 * connectLive({ url: '/ws', token: () => session.accessToken, onEvent: console.log, endOn: DEFAULT_END_CLOSE_CODES, onEnded: () => session.logOut() })
 * ```
 */
export const DEFAULT_END_CLOSE_CODES: readonly number[] = [4003]

/**
 * The default de-duplication key: `type:id:updatedAt` when `data` has a string `id` (so a second
 * edit of one message is a new event, but the same edit seen live and in a catch-up is not), else
 * none.
 *
 * @example
 * ```ts
 * defaultEventKey({ type: 'message.created', data: { id: 'm1' } }) // 'message.created:m1:'
 * ```
 */
export function defaultEventKey(event: LiveEvent): string | undefined {
  const data = event.data as { id?: unknown; updatedAt?: unknown } | null | undefined
  if (!data || typeof data !== 'object' || typeof data.id !== 'string') return undefined
  return `${event.type}:${data.id}:${typeof data.updatedAt === 'string' ? data.updatedAt : ''}`
}

const OPEN = 1

/**
 * A gap-free live connection to a fastkit {@link fastkitGateway}, for browsers (no Node
 * built-ins) and Node alike:
 *
 * - opens `url` with the `bearer, <token>` subprotocol pair, asking `token()` for each connection
 *   (with `refresh: true` after a close code in `refreshOn`, or a connection refused before opening);
 * - reconnects with exponential backoff and jitter, at once when the browser comes back `online`,
 *   and drops a connection that stops answering pings;
 * - after every open, holds live events, runs `catchUp`, then hands on its results and the held
 *   events, skipping any event already handed on (`eventKey`): nothing missed, nothing twice;
 * - stops on `close()`, a `null` token, or a close code in `endOn` (then `onEnded`).
 *
 * @example
 * ```ts
 * import { connectLive, type LiveEvent } from 'fastkit/client'
 * declare function fetchMissedMessages(): Promise<LiveEvent[]> // your API call
 * declare function render(event: LiveEvent): void
 *
 * const live = connectLive({
 *   url: '/ws',
 *   token: async ({ refresh }) => (refresh ? (await session.refresh()).accessToken : session.accessToken),
 *   catchUp: async ({ reconnect }) => (reconnect ? fetchMissedMessages() : []),
 *   onEvent: (event) => render(event),
 *   onStatus: (status) => console.log(status), // connecting, syncing, open, offline, closed
 * })
 * // on logout:
 * live.close()
 * ```
 */
export function connectLive<Event extends LiveEvent = LiveEvent>(options: LiveConnectionOptions<Event>): LiveConnection {
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket
  if (!WebSocketImpl) throw new Error('connectLive: no WebSocket implementation (pass options.WebSocket)')
  const refreshOn = new Set(options.refreshOn ?? DEFAULT_REFRESH_CLOSE_CODES)
  const endOn = new Set(options.endOn ?? DEFAULT_END_CLOSE_CODES)
  const eventKey = options.eventKey ?? defaultEventKey
  const dedupeWindow = options.dedupeWindow ?? 5_000
  const pingIntervalMs = options.pingIntervalMs ?? 25_000
  const pongTimeoutMs = options.pongTimeoutMs ?? 10_000

  let status: LiveStatus = 'connecting'
  let stopped = false
  let socket: WebSocketLike | undefined
  let attempt = 0
  let everOpened = false
  let refreshNext = false
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let pingTimer: ReturnType<typeof setInterval> | undefined
  let pongTimer: ReturnType<typeof setTimeout> | undefined
  /** Keys handed on recently, oldest first (a Map keeps insertion order). */
  const seen = new Map<string, true>()

  const setStatus = (next: LiveStatus) => {
    if (status === next) return
    status = next
    options.onStatus?.(next)
  }

  const deliver = (event: Event) => {
    const key = eventKey(event)
    if (key !== undefined) {
      if (seen.has(key)) return
      seen.set(key, true)
      if (seen.size > dedupeWindow) seen.delete(seen.keys().next().value as string)
    }
    options.onEvent(event)
  }

  const stopTimers = () => {
    clearTimeout(retryTimer)
    clearInterval(pingTimer)
    clearTimeout(pongTimer)
    retryTimer = pingTimer = pongTimer = undefined
  }

  const scheduleRetry = () => {
    if (stopped) return
    setStatus('offline')
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => void open(), backoffDelay(attempt++, options.backoff))
  }

  /** Forgets `current` (its late events are ignored) and closes it. */
  const drop = (current: WebSocketLike, code?: number) => {
    if (socket === current) socket = undefined
    clearInterval(pingTimer)
    clearTimeout(pongTimer)
    try {
      current.close(code)
    } catch {
      // Closing a socket that is still connecting throws in some implementations; it is gone either way.
    }
  }

  const open = async () => {
    if (stopped) return
    setStatus('connecting')
    let token: string | null
    try {
      token = await options.token({ refresh: refreshNext })
    } catch {
      scheduleRetry()
      return
    }
    if (stopped) return
    if (token === null) {
      stop()
      return
    }
    refreshNext = false
    let current: WebSocketLike
    try {
      current = new WebSocketImpl(resolveUrl(options.url), ['bearer', token])
    } catch {
      scheduleRetry()
      return
    }
    socket = current
    let opened = false
    let syncing = true
    const held: Event[] = []

    current.addEventListener('open', () => {
      if (socket !== current) return
      opened = true
      attempt = 0
      setStatus('syncing')
      const reconnect = everOpened
      everOpened = true
      if (pingIntervalMs > 0) {
        pingTimer = setInterval(() => {
          if (current.readyState !== OPEN) return
          current.send('{"type":"ping"}')
          clearTimeout(pongTimer)
          pongTimer = setTimeout(() => {
            if (socket !== current) return
            drop(current)
            scheduleRetry()
          }, pongTimeoutMs)
        }, pingIntervalMs)
      }
      Promise.resolve()
        .then(() => options.catchUp?.({ reconnect }))
        .then(
          (missed) => {
            if (socket !== current) return
            for (const event of missed ?? []) deliver(event)
            syncing = false
            for (const event of held.splice(0)) deliver(event)
            setStatus('open')
          },
          () => {
            // A failed catch-up leaves a gap: start over rather than show live events after it.
            if (socket !== current) return
            drop(current)
            scheduleRetry()
          },
        )
    })

    current.addEventListener('message', (message: { data: unknown }) => {
      if (socket !== current) return
      clearTimeout(pongTimer)
      if (typeof message.data !== 'string') return
      let event: Event
      try {
        event = JSON.parse(message.data) as Event
      } catch {
        return
      }
      if (!event || typeof event.type !== 'string' || event.type === 'pong' || event.type === 'error') return
      if (syncing) held.push(event)
      else deliver(event)
    })

    // A 'close' always follows an 'error'; listening keeps Node's `ws` from throwing it.
    current.addEventListener('error', () => {})

    current.addEventListener('close', (event: { code: number; reason: string }) => {
      if (socket !== current) return
      socket = undefined
      clearInterval(pingTimer)
      clearTimeout(pongTimer)
      if (endOn.has(event.code)) {
        stop()
        options.onEnded?.(event.code, event.reason)
        return
      }
      // A browser reports a refused upgrade (401 for an expired token) only as a close before open.
      refreshNext = refreshOn.has(event.code) || !opened
      scheduleRetry()
    })
  }

  const reconnectNow = () => {
    if (stopped) return
    if (socket) drop(socket)
    stopTimers()
    attempt = 0
    void open()
  }

  const onOnline = () => {
    if (status === 'offline') reconnectNow()
  }
  const onOffline = () => {
    // The OS says the network is gone: waiting for a ping timeout would only delay the catch-up.
    if (socket) {
      drop(socket)
      scheduleRetry()
    }
  }
  const target = globalThis as { addEventListener?: (type: string, fn: () => void) => void; removeEventListener?: (type: string, fn: () => void) => void }
  target.addEventListener?.('online', onOnline)
  target.addEventListener?.('offline', onOffline)

  function stop() {
    if (stopped) return
    stopped = true
    stopTimers()
    target.removeEventListener?.('online', onOnline)
    target.removeEventListener?.('offline', onOffline)
    if (socket) drop(socket, 1000)
    setStatus('closed')
  }

  void open()

  return {
    get status() {
      return status
    },
    reconnect: reconnectNow,
    close: stop,
  }
}

/** A path (`/ws`) becomes a `ws(s)://` URL on the page's origin; `http(s)://` becomes `ws(s)://`. */
function resolveUrl(url: string | URL): string {
  const base = (globalThis as { location?: { href: string } }).location?.href
  const resolved = new URL(url, base)
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:'
  else if (resolved.protocol === 'https:') resolved.protocol = 'wss:'
  return resolved.toString()
}
