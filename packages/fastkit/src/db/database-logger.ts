/**
 * Where fastkit reports what it did to a data folder on its own (a stale lock taken over, permissions
 * tightened). Pino, console and Fastify's `app.log` all fit. Without one, fastkit uses
 * `process.emitWarning`, which Node prints to stderr and a `process.on('warning')` listener can route.
 *
 * @example
 * ```ts
 * createDatabase<DB>({ url: 'pglite://./data', logger: { warn: (message) => app.log.warn(message) } })
 * ```
 */
export interface DatabaseLogger {
  warn(message: string): void
}

/** The default {@link DatabaseLogger}: a Node process warning, visible and routable. */
export const processWarningLogger: DatabaseLogger = {
  warn: (message) => process.emitWarning(message, { type: 'FastkitWarning' }),
}
