import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { databaseKind, KyselyThrottleStore, MemoryThrottleStore, RedisThrottleStore, type ThrottleStore } from 'fastkit'
import type { ChatConfig } from '../config.js'

/**
 * Where the login and registration throttles count, so that every process of the chat shares the
 * limits (four processes must not give an attacker four times the attempts): Redis when `REDIS_URL`
 * is set, the `throttle_events` table on a PostgreSQL server, memory on the embedded PGlite (which
 * belongs to one process). On Redis the keys carry a digest of the database's address: the counts
 * belong to one deployment, and two deployments (or test runs) sharing a Redis server do not mix them.
 */
export function throttleStoreFor(config: ChatConfig, db: Kysely<any>): ThrottleStore {
  if (config.redisUrl) {
    const url = new URL(config.databaseUrl)
    const deployment = createHash('sha256').update(`${url.host}${url.pathname}`).digest('hex').slice(0, 12)
    // One hash tag for all keys: a reservation's keys must share a Redis Cluster slot.
    return new RedisThrottleStore({ url: config.redisUrl, prefix: `{chat:throttle:${deployment}}:` })
  }
  if (databaseKind(config.databaseUrl) === 'postgres') return new KyselyThrottleStore({ db })
  return new MemoryThrottleStore()
}
