/**
 * Fastify and Node server timeouts fastkit recommends, so that no client can hold a socket (and the
 * memory behind it) for as long as it likes. Fastify's own defaults leave the request and socket
 * timeouts off, and Node checks its request and header deadlines only every 30 s.
 *
 * | option | value | what it bounds |
 * | --- | --- | --- |
 * | `requestTimeout` | 15 000 ms | receiving one whole request, headers and body: a client that trickles its body is cut off (408) |
 * | `http.headersTimeout` | 10 000 ms | receiving the request headers (slowloris) |
 * | `http.connectionsCheckingInterval` | 1 000 ms | how often Node enforces the two above (its default is 30 s) |
 * | `keepAliveTimeout` | 10 000 ms | an idle keep-alive connection; raise it above a load balancer's idle timeout if one sits in front |
 * | `connectionTimeout` | 60 000 ms | a socket with no traffic at all, handler time included: keep it above your slowest route |
 *
 * Spread it first and override what your app needs.
 *
 * @example
 * ```ts
 * const app = Fastify({ ...recommendedServerOptions, logger: true })
 * ```
 */
export const recommendedServerOptions = {
  requestTimeout: 15_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 10_000,
  http: { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 },
} as const satisfies {
  requestTimeout: number
  connectionTimeout: number
  keepAliveTimeout: number
  http: { headersTimeout: number; connectionsCheckingInterval: number }
}
