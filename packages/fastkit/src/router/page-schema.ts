import { z } from 'zod'

/** The largest cursor a client may send: the repository's cursors are far shorter. */
const MAX_CURSOR_LENGTH = 4096

/**
 * The zod schema of one page of a list, `{ items, nextCursor, total? }` (the shape `findMany` returns).
 * `BaseRouter`'s generated list uses it; use it for the response of a list route of your own.
 *
 * @example
 * ```ts
 * const TaskPage = pageSchema(TaskRead)
 * type TaskPage = z.output<typeof TaskPage> // { items: Task[]; nextCursor: string | null; total?: number }
 * ```
 */
export function pageSchema<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
    total: z.number().int().optional().describe('Only when asked for: the number of matching items'),
  })
}

/**
 * Options of {@link pageQuerySchema}.
 *
 * @example
 * ```ts
 * const options: PageQueryOptions = { defaultLimit: 20, maxLimit: 100 }
 * ```
 */
export interface PageQueryOptions {
  /** Page size when the client names none. Default 50. */
  readonly defaultLimit?: number
  /** Largest page a client may ask for. Default 100. */
  readonly maxLimit?: number
}

/**
 * The querystring schema of a paged list: `limit` (1..maxLimit, defaulted) and `cursor` (the previous
 * page's `nextCursor`). Extend it for a list route of your own.
 *
 * @example
 * ```ts
 * const MessageListQuery = pageQuerySchema({ maxLimit: 100 }).extend({ chatId: z.uuid() })
 * // z.output: { limit: number; cursor?: string; chatId: string }
 * ```
 *
 * @example
 * ```ts method-body=TaskRouter
 * // GET /tasks/recent?since=…&limit=…&cursor=…: a list route of your own, paged like the generated one
 * const RecentQuery = pageQuerySchema({ defaultLimit: 20 }).extend({ since: z.coerce.date() })
 * this.route({ method: 'GET', url: '/recent', query: RecentQuery, response: pageSchema(TaskRead),
 *   handler: ({ service, query }) =>
 *     service.list({ where: { createdAt: { gte: query.since } }, sort: ['-createdAt'], limit: query.limit, cursor: query.cursor }) })
 * ```
 */
export function pageQuerySchema(options: PageQueryOptions = {}) {
  const defaultLimit = options.defaultLimit ?? 50
  const maxLimit = options.maxLimit ?? 100
  return z.object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(maxLimit)
      .default(Math.min(defaultLimit, maxLimit))
      .describe(`Page size, 1..${maxLimit} (default ${Math.min(defaultLimit, maxLimit)})`),
    cursor: z.string().max(MAX_CURSOR_LENGTH).optional().describe('The nextCursor of the previous page'),
  })
}
