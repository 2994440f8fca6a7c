import WebSocket from 'ws'

export interface ReceivedEvent {
  type: string
  data: any
}

export interface ConnectOptions {
  token?: string
  /** How the token travels. Default `query`. */
  via?: 'query' | 'protocol'
  origin?: string
  /** `false` makes a client that never answers the server's pings (a "dead" peer). */
  autoPong?: boolean
  path?: string
}

/** A real WebSocket client that records every JSON frame it receives. */
export interface TestClient {
  readonly ws: WebSocket
  readonly events: ReceivedEvent[]
  /** Resolves with the close code once the connection is closed (by either side). */
  readonly closed: Promise<number>
  /** Waits until `predicate(events)` holds; rejects after `timeoutMs` with what was received. */
  waitUntil(predicate: (events: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<ReceivedEvent[]>
  close(): Promise<void>
}

export function wsUrl(baseUrl: string, options: ConnectOptions = {}): string {
  const url = new URL(options.path ?? '/ws', baseUrl.replace(/^http/, 'ws'))
  if (options.token !== undefined && (options.via ?? 'query') === 'query') url.searchParams.set('token', options.token)
  return url.toString()
}

function open(baseUrl: string, options: ConnectOptions): WebSocket {
  const protocols = options.token !== undefined && options.via === 'protocol' ? ['bearer', options.token] : undefined
  return new WebSocket(wsUrl(baseUrl, options), protocols, {
    ...(options.origin ? { origin: options.origin } : {}),
    ...(options.autoPong === false ? { autoPong: false } : {}),
  })
}

export async function connectClient(baseUrl: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = open(baseUrl, options)
  const events: ReceivedEvent[] = []
  const waiters = new Set<() => void>()
  ws.on('message', (data) => {
    events.push(JSON.parse(data.toString()) as ReceivedEvent)
    for (const waiter of waiters) waiter()
  })
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
  })
  ws.on('error', () => {})
  return {
    ws,
    events,
    closed,
    waitUntil(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(events)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(events)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out after ${timeoutMs} ms; received ${events.length} event(s): ${JSON.stringify(events.slice(-5))}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return
      ws.terminate()
      await closed
    },
  }
}

/** Opens a connection that the server is expected to refuse; resolves with the HTTP status and body. */
export function refusedUpgrade(baseUrl: string, options: ConnectOptions = {}): Promise<{ status: number; body: string; contentType: string }> {
  const ws = open(baseUrl, options)
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the upgrade was accepted'))
    })
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, contentType: String(res.headers['content-type'] ?? '') })
        ws.terminate()
      })
      res.on('error', reject)
    })
    // After a resolve this only sees the abort of the refused handshake; a reject then is a no-op.
    ws.on('error', (error) => reject(error))
  })
}

/** Sleeps; for "nothing more arrives" checks only, never to wait for something that should. */
export const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms))
