import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { MemoryHub, MemoryTransport, PostgresTransport, RedisTransport, type EventTransport } from '../../src/index.js'
import { testRedisUrl, testServerUrl } from '../../src/testing/index.js'

/** `TEST_REDIS_URL`; only called by Redis cases, which are registered only when it is set. */
export const redisUrl = (): string => testRedisUrl() ?? 'redis://127.0.0.1:6379'

/** A channel of its own per test, so test files (and other suites on the same servers) never cross-talk. */
export const uniqueChannel = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`

/**
 * One transport kind under the contract tests: how to make a transport on a channel, and (for those
 * with a connection) how to cut the receiving connection from the server side.
 */
export interface TransportCase {
  readonly name: 'memory' | 'postgres' | 'redis'
  /** A factory for transports that hear each other; call `make()` once per bus. */
  fresh(): { make(label: string): EventTransport }
  /** Cuts `transport`'s receiving connection, as a network failure or a server restart would. */
  readonly kill?: (transport: EventTransport) => Promise<void>
}

const memory: TransportCase = {
  name: 'memory',
  fresh() {
    const hub = new MemoryHub()
    return { make: () => new MemoryTransport({ hub }) }
  },
}

const postgresApps = new WeakMap<EventTransport, string>()
const postgres = (url: string): TransportCase => ({
  name: 'postgres',
  fresh() {
    const channel = uniqueChannel('fastkit_test')
    return {
      make(label) {
        const applicationName = `fk-ev-${label}-${randomBytes(4).toString('hex')}`
        const transport = new PostgresTransport({ url, channel, applicationName, minReconnectDelayMs: 50 })
        postgresApps.set(transport, applicationName)
        return transport
      },
    }
  },
  async kill(transport) {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const result = await client.query(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = $1 and query ilike 'LISTEN%'`,
        [postgresApps.get(transport)],
      )
      if (result.rowCount !== 1) throw new Error(`expected one LISTEN connection to kill, found ${result.rowCount}`)
    } finally {
      await client.end()
    }
  },
})

const redisNames = new WeakMap<EventTransport, string>()
const redis: TransportCase = {
  name: 'redis',
  fresh() {
    const channel = uniqueChannel('fastkit:test')
    return {
      make(label) {
        const connectionName = `fk-ev-${label}-${randomBytes(4).toString('hex')}`
        const transport = new RedisTransport({ url: redisUrl(), channel, redis: { connectionName } })
        redisNames.set(transport, connectionName)
        return transport
      },
    }
  },
  async kill(transport) {
    const admin = new Redis(redisUrl())
    try {
      const list = (await admin.client('LIST')) as string
      const line = list
        .split('\n')
        .find((l) => l.includes(` name=${redisNames.get(transport)} `) && / sub=[1-9]/.test(l))
      const id = line && /^id=(\d+)/.exec(line)?.[1]
      if (!id) throw new Error('the subscribing connection was not found in CLIENT LIST')
      await admin.client('KILL', 'ID', id)
    } finally {
      admin.disconnect()
    }
  },
}

/**
 * Memory and Redis always; PostgreSQL LISTEN/NOTIFY only when TEST_DATABASE_URL names a server: it is
 * PostgreSQL-only by nature (an embedded PGlite belongs to one process and uses the memory transport).
 */
export function transportCases(): TransportCase[] {
  const url = testServerUrl()
  return [memory, ...(testRedisUrl() ? [redis] : []), ...(url ? [postgres(url)] : [])]
}
