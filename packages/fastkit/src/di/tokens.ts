import type { Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import { token } from './token.js'

/** The app's `Kysely<DB>` (a singleton in the root container). Repositories use the unit of work instead. */
export const Database = token<Kysely<any>>('fastkit.Database')

/** The app's logger (a singleton in the root container). */
export const Logger = token<FastifyBaseLogger>('fastkit.Logger')
