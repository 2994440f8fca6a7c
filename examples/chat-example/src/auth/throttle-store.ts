import type { Kysely } from 'kysely'
import { databaseKind, KyselyThrottleStore, MemoryThrottleStore, RedisThrottleStore, type ThrottleStore } from 'fastkit'
import type { ChatConfig } from '../config.js'

/**
 * Where the login and registration throttles count, so that every process of the chat shares the
 * limits (four processes must not give an attacker four times the attempts): Redis when `REDIS_URL`
 * is set, the `throttle_events` table on a PostgreSQL server, memory on the embedded PGlite (which
 * belongs to one process).
 */
export function throttleStoreFor(config: ChatConfig, db: Kysely<any>): ThrottleStore {
  if (config.redisUrl) return new RedisThrottleStore({ url: config.redisUrl, prefix: '{chat:throttle}:' })
  if (databaseKind(config.databaseUrl) === 'postgres') return new KyselyThrottleStore({ db })
  return new MemoryThrottleStore()
}
