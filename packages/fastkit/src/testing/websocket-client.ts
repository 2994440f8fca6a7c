import WebSocket from 'ws'
import { createInbox, type Inbox } from './inbox.js'

/** One JSON frame a server pushed, e.g. `{ type: 'message.created', data: {…} }`. */
export interface ReceivedEvent {
  type: string
  data: any
}

/** How {@link connectWebSocket} opens its connection. */
export interface WebSocketClientOptions {
  /** An access token; how it travels is `via`. */
  readonly token?: string
  /** `query` (`?token=`, the default) or `protocol` (`Sec-WebSocket-Protocol: bearer, <token>`). */
  readonly via?: 'query' | 'protocol'
  /** An `Origin` header, as a browser would send. */
  readonly origin?: string
  /** `false` makes a client that never answers the server's pings (a dead peer). */
  readonly autoPong?: boolean
  /** The gateway's path. Default `/ws`. */
  readonly path?: string
  /** How long the upgrade may take. Default 5 000 ms. */
  readonly timeoutMs?: number
}

/**
 * A real WebSocket client that records every JSON frame it receives: an {@link Inbox} of them
 * (`events`, `waitUntil`), so {@link takeUntilBarrier} works on it.
 */
export interface WebSocketTestClient extends Inbox<ReceivedEvent> {
  /** The underlying `ws` socket (pause it to play a slow reader, send pings…). */
  readonly ws: WebSocket
  /** Resolves with the close code once the connection is closed, by either side. */
  readonly closed: Promise<number>
  /** Cuts the connection and waits until it is closed. */
  close(): Promise<void>
}

/**
 * The `ws://` URL of a gateway on an `http://` base URL, with the token in the query when `via` is `query`.
 *
 * @example
 * ```ts
 * webSocketUrl('http://127.0.0.1:3000', { token: 'eyJ…', via: 'query' }) // 'ws://127.0.0.1:3000/ws?token=eyJ…'
 * ```
 */
export function webSocketUrl(baseUrl: string, options: WebSocketClientOptions = {}): string {
  const url = new URL(options.path ?? '/ws', baseUrl.replace(/^http/, 'ws'))
  if (options.token !== undefined && (options.via ?? 'query') === 'query') url.searchParams.set('token', options.token)
  return url.toString()
}

function open(baseUrl: string, options: WebSocketClientOptions): WebSocket {
  const protocols = options.token !== undefined && options.via === 'protocol' ? ['bearer', options.token] : undefined
  return new WebSocket(webSocketUrl(baseUrl, options), protocols, {
    ...(options.origin ? { origin: options.origin } : {}),
    ...(options.autoPong === false ? { autoPong: false } : {}),
  })
}

/**
 * Opens a real WebSocket to a fastkit gateway (see `fastkitGateway`) and resolves once the server
 * accepted it; rejects when the upgrade is refused or times out. For tests over real sockets.
 *
 * @example
 * ```ts
 * declare const chatId: string // a chat the user is a member of
 * const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
 * const { access_token } = app.issueAccessToken(user)
 * const alice = await connectWebSocket(baseUrl, { token: access_token })
 * await app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${access_token}` }, payload: { chatId, text: 'hi' } })
 * const [event] = await alice.waitUntil((events) => events.length === 1)
 * expect(event?.type).toBe('message.created')
 * await alice.close()
 * ```
 */
export async function connectWebSocket(baseUrl: string, options: WebSocketClientOptions = {}): Promise<WebSocketTestClient> {
  const timeoutMs = options.timeoutMs ?? 5_000
  const ws = open(baseUrl, options)
  const inbox = createInbox<ReceivedEvent>()
  ws.on('message', (data) => inbox.push(JSON.parse(data.toString()) as ReceivedEvent))
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`connecting to ${baseUrl} timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    ws.once('open', () => {
      clearTimeout(timer)
      resolve()
    })
    ws.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    ws.once('unexpected-response', (_request, response) => {
      clearTimeout(timer)
      ws.terminate()
      reject(new Error(`upgrade refused: ${response.statusCode}`))
    })
  })
  ws.on('error', () => {})
  return {
    ws,
    events: inbox.events,
    closed,
    waitUntil: inbox.waitUntil,
    async close() {
      if (ws.readyState === ws.CLOSED) return
      ws.terminate()
      await closed
    },
  }
}

/**
 * Opens a WebSocket that the server is expected to refuse and resolves with the HTTP answer it gave
 * instead of the 101 (status, body, content type); rejects if the upgrade was accepted.
 *
 * @example
 * ```ts
 * const refused = await refusedWebSocketUpgrade('http://127.0.0.1:3000', { token: 'expired…' })
 * expect(refused.status).toBe(401)
 * ```
 */
export function refusedWebSocketUpgrade(
  baseUrl: string,
  options: WebSocketClientOptions = {},
): Promise<{ status: number; body: string; contentType: string }> {
  const timeoutMs = options.timeoutMs ?? 5_000
  const ws = open(baseUrl, options)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`no answer to the upgrade within ${timeoutMs} ms`))
    }, timeoutMs)
    ws.once('open', () => {
      clearTimeout(timer)
      ws.terminate()
      reject(new Error('the upgrade was accepted'))
    })
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => {
        clearTimeout(timer)
        resolve({ status: response.statusCode ?? 0, body, contentType: String(response.headers['content-type'] ?? '') })
        ws.terminate()
      })
      response.on('error', reject)
    })
    // After a resolve this only sees the abort of the refused handshake; a reject then is a no-op.
    ws.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}
