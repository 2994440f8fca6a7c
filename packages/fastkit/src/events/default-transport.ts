import { databaseKind } from '../db/create-database.js'
import type { EventTransport } from './event-transport.js'
import { MemoryTransport } from './memory-transport.js'
import { PostgresTransport } from './postgres-transport.js'
import { RedisTransport } from './redis-transport.js'

/**
 * What {@link defaultTransport} chooses from: the app's database and Redis URLs.
 *
 * @example
 * ```ts
 * defaultTransport({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL })
 * ```
 */
export interface DefaultTransportOptions {
  /** The app's database URL (`DATABASE_URL`, or a PGlite location). */
  readonly databaseUrl?: string
  /** `REDIS_URL`; when set, Redis carries the events. */
  readonly redisUrl?: string
  /** Channel name for the chosen transport (Redis channels may contain `:`, PostgreSQL ones may not). */
  readonly channel?: string
}

/**
 * Picks the transport an app's deployment implies: Redis when `redisUrl` is set, else PostgreSQL
 * LISTEN/NOTIFY when the database is a PostgreSQL server (other processes may share it), else memory
 * (an embedded PGlite belongs to one process).
 *
 * @example
 * ```ts
 * await app.register(fastkitEvents, {
 *   transport: defaultTransport({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }),
 * })
 * ```
 */
export function defaultTransport(options: DefaultTransportOptions = {}): EventTransport {
  const channel = options.channel === undefined ? {} : { channel: options.channel }
  if (options.redisUrl) return new RedisTransport({ url: options.redisUrl, ...channel })
  if (options.databaseUrl && databaseKind(options.databaseUrl) === 'postgres') {
    return new PostgresTransport({ url: options.databaseUrl, ...channel })
  }
  return new MemoryTransport()
}
