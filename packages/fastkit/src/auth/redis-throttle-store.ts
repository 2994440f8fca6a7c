import type { RedisClientOptions } from '../redis/redis-client-options.js'
import type { ThrottleLimit, ThrottleReservation, ThrottleStore } from './throttle-store.js'

/**
 * Options of a {@link RedisThrottleStore}: the server, the key prefix, extra ioredis options.
 *
 * @example
 * ```ts
 * new RedisThrottleStore({ url: process.env.REDIS_URL, prefix: 'chat:throttle:' })
 * ```
 */
export interface RedisThrottleStoreOptions {
  /** `redis://…` (the app's `REDIS_URL`). Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /**
   * Prefix of every key. Default `{fastkit:throttle}:`: the braces are a Redis Cluster hash tag, so the
   * keys of one reservation share a slot and the script may touch them all.
   */
  readonly prefix?: string
  /** Extra ioredis options (TLS, timeouts, a `connectionName`). */
  readonly redis?: RedisClientOptions
}

/** The part of an ioredis client the store uses. */
interface RedisClient {
  on(event: string, listener: (...args: any[]) => void): unknown
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  zrem(key: string, member: string): Promise<unknown>
  del(key: string): Promise<unknown>
  quit(): Promise<unknown>
}

// KEYS: the keys; ARGV: id, at, then limit and windowMs per key. Each key is a sorted set of event
// ids scored by time. Runs atomically in Redis: check every key, then add to every key, or neither.
const RESERVE = `
local id, at = ARGV[1], tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', at - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, math.max(1, tonumber(freeing[2]) + window - at))
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, at, id)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return 0
`

/**
 * A {@link ThrottleStore} in Redis (ioredis 5, an optional peer loaded on first use): a sorted set per
 * key, and a Lua script that checks every limit and records the attempt as one atomic step, so every
 * process using the server shares the limits. Keys expire with their window. Times come from the
 * caller's clock; keep the servers' clocks in sync (NTP).
 *
 * @example
 * ```ts
 * const store = new RedisThrottleStore({ url: process.env.REDIS_URL })
 * await app.register(fastkitAuth, { ...auth, loginThrottle: { store }, registrationThrottle: { store } })
 * ```
 */
export class RedisThrottleStore implements ThrottleStore {
  readonly #url: string
  readonly #prefix: string
  readonly #options: RedisClientOptions
  #client: Promise<RedisClient> | undefined

  constructor(options: RedisThrottleStoreOptions = {}) {
    this.#url = options.url ?? 'redis://127.0.0.1:6379'
    this.#prefix = options.prefix ?? '{fastkit:throttle}:'
    this.#options = options.redis ?? {}
  }

  async reserve({ id, at, limits }: { readonly id: string; readonly at: number; readonly limits: readonly ThrottleLimit[] }): Promise<ThrottleReservation> {
    const client = await this.#connect()
    const args = limits.flatMap((l) => [l.limit, l.windowMs])
    const wait = Number(await client.eval(RESERVE, limits.length, ...limits.map((l) => this.#prefix + l.key), id, at, ...args))
    return wait > 0 ? { granted: false, retryAfterMs: wait } : { granted: true }
  }

  async release({ id, keys }: { readonly id: string; readonly keys: readonly string[] }): Promise<void> {
    const client = await this.#connect()
    await Promise.all(keys.map((key) => client.zrem(this.#prefix + key, id)))
  }

  async reset({ key }: { readonly key: string }): Promise<void> {
    await (await this.#connect()).del(this.#prefix + key)
  }

  async close(): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client) await (await client).quit()
  }

  #connect(): Promise<RedisClient> {
    this.#client ??= (async () => {
      const { Redis } = await import('ioredis')
      const client: RedisClient = new Redis(this.#url, { maxRetriesPerRequest: 2, ...this.#options }) as unknown as RedisClient
      // Without a listener ioredis prints every connection error; a failed command rejects anyway.
      client.on('error', () => {})
      return client
    })()
    return this.#client
  }
}
