import { createHmac, randomUUID } from 'node:crypto'
import WebSocket from 'ws'

/** One JSON frame the server pushed: `{ type, data }`. */
export interface ReceivedEvent {
  type: string
  data: any
}

export interface ConnectOptions {
  /** The access token; how it travels is `via` (default `query`). */
  readonly token?: string
  readonly via?: 'query' | 'protocol'
}

/** A real WebSocket client of `/ws` that records every frame it receives. */
export interface RealtimeClient {
  readonly ws: WebSocket
  /** Every frame received so far, in arrival order. */
  readonly events: ReceivedEvent[]
  /** Resolves with the close code once the connection is closed, by either side. */
  readonly closed: Promise<number>
  /** Resolves once `predicate(events)` holds; rejects after `timeoutMs` saying what did arrive. */
  waitUntil(predicate: (events: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<ReceivedEvent[]>
  /** Closes (cleanly) and waits for the close. */
  close(): Promise<void>
}

function wsUrl(baseUrl: string, options: ConnectOptions): string {
  const url = new URL('/ws', baseUrl.replace(/^http/, 'ws'))
  if (options.token !== undefined && (options.via ?? 'query') === 'query') url.searchParams.set('token', options.token)
  return url.toString()
}

function open(baseUrl: string, options: ConnectOptions): WebSocket {
  const protocols = options.token !== undefined && options.via === 'protocol' ? ['bearer', options.token] : undefined
  return new WebSocket(wsUrl(baseUrl, options), protocols)
}

/** Opens `/ws` on `baseUrl` and resolves once the server accepted it (rejects on a refused upgrade). */
export async function connect(baseUrl: string, options: ConnectOptions = {}, timeoutMs = 5_000): Promise<RealtimeClient> {
  const ws = open(baseUrl, options)
  const events: ReceivedEvent[] = []
  const waiters = new Set<() => void>()
  ws.on('message', (data) => {
    events.push(JSON.parse(data.toString()) as ReceivedEvent)
    for (const waiter of [...waiters]) waiter()
  })
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
    events,
    closed,
    waitUntil(predicate, waitMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(events)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(events)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out after ${waitMs} ms; received ${events.length} frame(s), the last: ${JSON.stringify(events.slice(-3))}`))
        }, waitMs)
        waiters.add(check)
        check()
      })
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return
      ws.close(1000)
      const timer = setTimeout(() => ws.terminate(), 2_000)
      await closed
      clearTimeout(timer)
    },
  }
}

/** Tries to open `/ws` expecting a refusal; resolves with the HTTP response instead of the 101. */
export function refusedUpgrade(baseUrl: string, options: ConnectOptions = {}, timeoutMs = 5_000): Promise<{ status: number; body: string; contentType: string }> {
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
    })
    // After a resolve this only sees the abort of the refused handshake; a reject then is a no-op.
    ws.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/**
 * An HS256 JWT signed with `secret`, built by hand so a test can make tokens the server never
 * issues: expired ones, or ones signed with another key.
 */
export function signJwt(secret: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

/** Claims like the chat's own access tokens (`iss`, `aud` of the chat example), expiring `expiresIn` s from now. */
export function chatClaims(user: { id: string; username: string }, expiresIn: number): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    sub: user.id,
    username: user.username,
    jti: randomUUID(),
    iss: 'chat-example',
    aud: 'chat-example-api',
    iat: now - 3_600,
    exp: now + expiresIn,
  }
}

/** `promise`, or a rejection naming `what` after `ms`: every wait in these tests is bounded. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
