import { createServer, connect, type Socket } from 'node:net'

/**
 * A TCP proxy to a PostgreSQL server that holds back everything the server sends until
 * {@link HeldReplyProxy.releaseWhenServerHungUp}: the client's startup goes through, the server's
 * whole reply (with trust authentication: AuthenticationOk … ReadyForQuery, then whatever it says
 * before hanging up, such as a FATAL 57P01 from `pg_terminate_backend`) reaches the client in one
 * write, hence one socket read. That is what a busy process sees when it reads late: the "ready"
 * and the error in the same tick.
 */
export interface HeldReplyProxy {
  /** `url` with its host and port replaced by the proxy's. */
  readonly url: string
  /** Waits until the server closed its side, then writes all it said to the client at once and closes. */
  releaseWhenServerHungUp(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startHeldReplyProxy(url: string): Promise<HeldReplyProxy> {
  const target = new URL(url)
  const sockets = new Set<Socket>()
  type Pair = { client: Socket; held: Buffer[]; serverGone: Promise<void> }
  let pair: Pair | undefined
  let paired!: (pair: Pair) => void
  const firstPair = new Promise<Pair>((resolve) => (paired = resolve))
  const server = createServer((client) => {
    if (pair) return client.destroy() // one connection is all a test needs
    const upstream = connect(Number(target.port || 5432), target.hostname)
    sockets.add(client).add(upstream)
    const held: Buffer[] = []
    upstream.on('data', (chunk: Buffer) => held.push(chunk))
    const serverGone = new Promise<void>((resolve) => upstream.once('close', () => resolve()))
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    client.on('error', () => {})
    upstream.on('error', () => {})
    pair = { client, held, serverGone }
    paired(pair)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String((server.address() as { port: number }).port)
  return {
    url: proxied.toString(),
    async releaseWhenServerHungUp(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined
      const { client, held } = await Promise.race([
        firstPair.then(async (p) => (await p.serverGone, p)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection through the proxy that the server hung up within ${timeoutMs} ms`)), timeoutMs)
        }),
      ]).finally(() => clearTimeout(timer))
      client.end(Buffer.concat(held))
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
