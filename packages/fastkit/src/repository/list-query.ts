import type { Selectable } from 'kysely'
import type { CursorKeyType } from './cursor.js'

/**
 * Comparison operators a list filter may use, in a {@link Filter} and as `?field[op]=value` on a list route.
 *
 * @example
 * ```ts
 * await tasks.findMany({ where: { title: { contains: 'docs' }, createdAt: { gte: since } } })
 * // GET /tasks?title[contains]=docs&createdAt[gte]=2026-01-01T00:00:00Z
 * ```
 */
export const FILTER_OPERATORS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'contains', 'ilike', 'isNull'] as const
/**
 * One of {@link FILTER_OPERATORS}.
 *
 * @example
 * ```ts
 * const op: FilterOperator = 'gte'
 * ```
 */
export type FilterOperator = (typeof FILTER_OPERATORS)[number]

/**
 * Conditions on one field: a value means `eq`; an object combines operators with AND.
 *
 * @example
 * ```ts
 * const recent: FieldFilter<Date> = { gte: lastWeek, lt: today }
 * ```
 */
export type FieldFilter<V> =
  | V
  | {
      readonly eq?: V
      readonly ne?: V
      readonly lt?: V
      readonly lte?: V
      readonly gt?: V
      readonly gte?: V
      readonly in?: readonly V[]
      /** Case-insensitive substring match (`ILIKE %value%`, wildcards escaped). */
      readonly contains?: string
      /** Case-insensitive `ILIKE` pattern, as given. */
      readonly ilike?: string
      readonly isNull?: boolean
    }

/**
 * A filter over a row type: only the row's own fields, each with its own value type.
 *
 * @example
 * ```ts
 * const open: Filter<Task> = { done: false, title: { contains: 'docs' } }
 * ```
 */
export type Filter<Row> = { readonly [K in keyof Row]?: FieldFilter<NonNullable<Row[K]>> }

/**
 * A sort key: `field` (ascending) or `-field` (descending). The id always breaks ties.
 *
 * @example
 * ```ts
 * const newestFirst: SortKey<Task>[] = ['-createdAt']
 * ```
 */
export type SortKey<Row> = Extract<keyof Row, string> | `-${Extract<keyof Row, string>}`

/**
 * One page of a list: keyset-paginated, with an opaque cursor for the next page.
 *
 * @example
 * ```ts
 * let page: Page<Task> = await tasks.findMany({ limit: 100 })
 * while (page.nextCursor) page = await tasks.findMany({ limit: 100, cursor: page.nextCursor })
 * ```
 */
export interface Page<T> {
  readonly items: T[]
  /** Pass as `cursor` to get the next page; `null` on the last page. */
  readonly nextCursor: string | null
  /** Only when asked for (`count: true`): the number of rows matching the filter, ignoring paging. */
  readonly total?: number
}

/**
 * What `findMany` takes.
 *
 * @example
 * ```ts
 * await tasks.findMany({ where: { done: false }, sort: ['-createdAt'], limit: 20, count: true })
 * ```
 */
export interface ListQuery<Row> {
  readonly where?: Filter<Row>
  /** Sort keys; default: by id ascending. */
  readonly sort?: readonly SortKey<Row>[]
  /** Page size; default 50. */
  readonly limit?: number
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | null
  /** Also count all matching rows. */
  readonly count?: boolean
  /**
   * Sort fields known never to hold NULL (the id always counts as one). When every sort key is one
   * and all share a direction, the cursor condition becomes a row comparison, `(a, id) < ($1, $2)`,
   * which a btree index on the same columns serves directly. `BaseRouter` fills this in from the
   * read schema; without it the condition is an OR chain that is also correct for NULLs.
   */
  readonly notNull?: readonly string[]
  /**
   * The type of each sort field (and `id`): a client's cursor whose values are not text of these types
   * is refused as "Invalid cursor" (400) before any SQL runs. `parseListQuery` fills this in from the
   * read schema. Keys without a type are still safe: a value PostgreSQL cannot read as the column's
   * type is also answered with "Invalid cursor", only after the query was sent.
   */
  readonly keyTypes?: { readonly [K in Extract<keyof Row, string>]?: CursorKeyType }
}

/**
 * The row type of a table of a Kysely `DB` interface.
 *
 * @example
 * ```ts
 * type Task = RowOf<DB, 'tasks'> // { id: string; title: string; done: boolean; createdAt: Date }
 * ```
 */
export type RowOf<DB, TB extends keyof DB> = Selectable<DB[TB]>
