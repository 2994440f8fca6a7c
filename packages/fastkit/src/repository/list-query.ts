import type { Selectable } from 'kysely'
import type { CursorKeyType } from './cursor.js'

/**
 * Comparison operators a list filter may use, in a {@link Filter} and as `?field[op]=value` on a list route.
 *
 * @example
 * ```ts
 * await tasks.findMany({ where: { title: { contains: 'docs' }, createdAt: { gte: new Date('2026-01-01') } } })
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
 * const january: FieldFilter<Date> = { gte: new Date('2026-01-01'), lt: new Date('2026-02-01') }
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
}

/**
 * A list that starts next to an anchor row: `after: { id }` pages through the rows that follow it in the
 * sort order, `before: { id }` through the rows that precede it (each page still in the sort order, the
 * pages walking away from the anchor). Pass the page's `nextCursor` as `cursor` together with the same
 * `after`/`before` to continue; the anchor is then not looked up again (it may be deleted meanwhile).
 *
 * @example
 * ```ts
 * const since = await messages.findMany({ where: { chatId }, sort: ['createdAt'], after: { id: lastSeenId } })
 * if (since === undefined) throw new NotFoundError('Message not found') // no such anchor (or not visible)
 * ```
 */
export type AnchoredListQuery<Row> = ListQuery<Row> &
  ({ readonly after: { readonly id: IdOf<Row> }; readonly before?: undefined } | { readonly before: { readonly id: IdOf<Row> }; readonly after?: undefined })

/**
 * The id type of a row: the type of its `id` column.
 *
 * @example
 * ```ts
 * type TaskId = IdOf<RowOf<DB, 'tasks'>> // string
 * ```
 */
export type IdOf<Row> = Row extends { id: infer I } ? I : string extends keyof Row ? Row[string] : never // (an untyped row: any id)

/**
 * The sort/paging keys of a repository, declared once on it: each column lists may sort or page on, with
 * the type its cursor values must have (checked before any SQL runs). Only columns that are never NULL
 * may be listed (a nullable one is a compile error), which lets `findMany` use a row comparison
 * `(a, id) > ($1, $2)` that an index on the same columns serves directly. The id is always a key.
 *
 * @example
 * ```ts
 * class MessageRepository extends BaseRepository<DB, 'messages'> {
 *   readonly table = 'messages'
 *   protected override readonly keys = { id: 'uuid', createdAt: 'timestamp' } satisfies KeyColumns<Message>
 * }
 * ```
 */
export type KeyColumns<Row> = {
  // (`unknown extends` keeps an untyped row, `any`, open to every column)
  readonly [K in keyof Row]?: null extends Row[K] ? (unknown extends Row[K] ? CursorKeyType : never) : CursorKeyType
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
