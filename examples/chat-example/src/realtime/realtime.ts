import type { FastifyInstance } from 'fastify'
import { defaultTransport, fastkitEvents, fastkitGateway, type EventTransport } from 'fastkit'
import type { ChatConfig } from '../config.js'
import { messageFeed } from './message-feed.js'

/**
 * Live delivery: the event bus (memory on PGlite; PostgreSQL LISTEN/NOTIFY on a server; Redis when
 * `REDIS_URL` is set, so several processes deliver each other's events) and the `/ws` gateway.
 * The gateway checks tokens as HTTP does (fastkit's default), and closes a connection when its token
 * expires (4001) or its session ends (4003: logout, refresh-token reuse, account deletion).
 * Each connection receives its user's topic: services address events to the members of a chat,
 * read inside the writing transaction, so joining or leaving takes effect with the next event. New
 * messages are the exception: each process's message feed (message-feed.ts) reads them from the
 * table once they settle and sends them to the members of that moment.
 */
export async function realtime(app: FastifyInstance, config: ChatConfig, transport?: EventTransport): Promise<void> {
  await app.register(fastkitEvents, {
    transport: transport ?? defaultTransport({ databaseUrl: config.databaseUrl, ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}) }),
  })
  await app.register(fastkitGateway, {
    path: '/ws',
    allowedOrigins: config.allowedOrigins,
  })
  await messageFeed(app)
}
