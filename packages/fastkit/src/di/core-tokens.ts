import type { Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import { token } from './token.js'

/**
 * The app's `Kysely<DB>` (a singleton in the root container). Repositories use the unit of work instead;
 * this is for singletons that work outside requests.
 *
 * @example
 * ```ts
 * class Cleanup {
 *   static readonly inject = [Database] as const
 *   constructor(private readonly db: Kysely<DB>) {}
 * }
 * ```
 */
export const Database = token<Kysely<any>>('fastkit.Database')

/**
 * The app's logger (a singleton in the root container): Fastify's pino logger.
 *
 * @example
 * ```ts
 * import type { FastifyBaseLogger } from 'fastify'
 * class TaskService extends BaseService<TaskRepository> {
 *   static readonly inject = [TaskRepository, Logger] as const
 *   constructor(tasks: TaskRepository, private readonly log: FastifyBaseLogger) { super(tasks) }
 * }
 * ```
 */
export const Logger = token<FastifyBaseLogger>('fastkit.Logger')
