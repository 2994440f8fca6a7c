/**
 * The fan-out yardstick: a bare `ws` server that broadcasts every frame POSTed to `/broadcast` to every
 * connected socket, no auth, no database, no routing. The benchmark sends it the same frames the chat
 * sends for `message.created`, to the same number of sockets, at the same rate.
 *
 *   PORT=3002 node --import tsx bench/ws-broadcast-server.ts
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const sockets = new Set<WebSocket>()
const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/broadcast') {
    response.writeHead(404).end()
    return
  }
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const frame = Buffer.concat(chunks).toString('utf8')
    response.writeHead(201, { 'content-type': 'application/json' }).end('{}')
    for (const socket of sockets) socket.send(frame)
  })
})
const wss = new WebSocketServer({ server, path: '/ws' })
wss.on('connection', (socket) => {
  sockets.add(socket)
  socket.on('close', () => sockets.delete(socket))
})
server.listen(Number(process.env.PORT ?? 3002), '127.0.0.1', () => console.log('broadcast ready'))
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0))
