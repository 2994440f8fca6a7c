/**
 * Options passed through to ioredis (`tls`, `connectTimeout`, `connectionName`, …). Typed loosely on
 * purpose: ioredis is an optional peer, so fastkit's published types must not need its types.
 * Its own area because both the event transport and the throttle store take it (and `events/` must
 * not be needed by `auth/` nor the reverse).
 *
 * @example
 * ```ts
 * const options: RedisClientOptions = { connectionName: 'chat-api', connectTimeout: 2_000 }
 * ```
 */
export type RedisClientOptions = Readonly<Record<string, unknown>>
