import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { pino, type Logger } from 'pino'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Fields for JSON readers that the pretty line's message already shows. */
const REQUEST_FIELDS = ['method', 'url', 'statusCode', 'responseTime', 'startupMs']

/**
 * The chat's logger: pretty, one line per event, when stdout is a terminal (a person reads it); JSON
 * lines otherwise (a log collector reads them). `LOG_LEVEL` sets the level, `info` by default.
 * With `NODE_ENV=production` the JSON lines are written asynchronously and in batches (see
 * {@link batchedStdout}): a line per request would otherwise be a write to stdout per request.
 */
export async function createLogger(env: NodeJS.ProcessEnv = process.env, pretty = process.stdout.isTTY === true): Promise<Logger> {
  const level = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`)
  // Outside production, synchronous writes: pino's default stdout is asynchronous, and a process
  // that exits while its first write is in flight gets its later lines out before that one.
  if (!pretty) return env.NODE_ENV === 'production' ? pino({ level }, batchedStdout()) : pino({ level }, pino.destination({ dest: 1, sync: true }))
  // Loaded only for a terminal, and run in this thread (not as a pino transport's worker): a worker
  // would cost a second V8 isolate's start-up time and memory for a development convenience.
  const { default: prettyStream } = await import('pino-pretty')
  return pino({ level }, prettyStream({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: ['pid', 'hostname', 'reqId', ...REQUEST_FIELDS].join(',') }))
}

/**
 * stdout for production: lines gather in memory until 4 KiB wait (one write for a few dozen request
 * lines under load) or for at most {@link FLUSH_EVERY_MS} on a quiet server, then go out in one
 * asynchronous write. Before exiting, await {@link flushed}.
 */
function batchedStdout(): ReturnType<typeof pino.destination> {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref()
  return destination
}

/**
 * Resolves once every line logged so far has been written (at most after `timeoutMs`): call it before
 * `process.exit`, which would otherwise write what is still buffered synchronously, ahead of a write
 * already in flight, so the last lines could arrive out of order.
 */
export function flushed(log: Logger, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs)
    log.flush(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** The longest a production log line waits in memory before it is written. */
const FLUSH_EVERY_MS = 200

/**
 * One log line per request, when its response is sent (`GET /chats 200 3.1 ms`), instead of Fastify's
 * two ("incoming request", "request completed"). Give it to Fastify as `logController`.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const responseTime = Math.round(reply.elapsedTime * 10) / 10
    // `/ws?token=…` carries an access token: it does not belong in a log.
    const url = request.url.replace(/([?&]token=)[^&]*/, '$1[redacted]')
    const line = { method: request.method, url, statusCode: reply.statusCode, responseTime }
    const message = `${request.method} ${url} ${reply.statusCode} ${responseTime} ms`
    if (error) reply.log.error({ ...line, err: error }, message)
    else reply.log.info(line, message)
  }
}
