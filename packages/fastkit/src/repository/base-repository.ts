import { createQueryId, sql, type CompiledQuery, type Expression, type ExpressionBuilder, type Insertable, type Kysely, type SqlBool, type Updateable } from 'kysely'
import { UnitOfWork } from '../uow/unit-of-work.js'
import { isDatabaseError } from '../db/database-errors.js'
import { decodeCursor, encodeCursor, invalidCursor, type CursorKeyType } from './cursor.js'
import { escapeLike } from './like.js'
import type { AnchoredListQuery, Filter, IdOf, KeyColumns, ListQuery, Page, RowOf, SortKey } from './list-query.js'

/**
 * A row-visibility rule: a WHERE condition added to every read, update and delete of a repository
 * call (e.g. "only chats the caller is a member of"). Services supply it; see `BaseService.scope`.
 *
 * @example
 * ```ts
 * const mine: Scope<DB, 'messages'> = (eb) => eb('messages.senderId', '=', user.id)
 * const sent = await messages.findMany({ sort: ['-createdAt'] }, { scope: mine })
 * ```
 */
export type Scope<DB, TB extends keyof DB> = (eb: ExpressionBuilder<DB, TB>) => Expression<SqlBool>

/**
 * Options every scoped repository call takes.
 *
 * @example
 * ```ts
 * const options: ScopeOptions<DB, 'messages'> = { scope: (eb) => eb('messages.senderId', '=', user.id) }
 * const edited = await messages.update(lastSeenId, { text: 'fixed a typo' }, options) // undefined: not yours
 * ```
 */
export interface ScopeOptions<DB, TB extends keyof DB> {
  readonly scope?: Scope<DB, TB> | undefined
}

const DEFAULT_LIMIT = 50

/** SQLSTATEs of a value PostgreSQL cannot read as its column's type: bad syntax, out of range, bad bytes. */
const CURSOR_DATA_ERRORS = new Set(['22P02', '22007', '22008', '22003', '22021', '22P05'])

/**
 * Typed data access for one table, through the request's {@link UnitOfWork}: every repository of one
 * request shares its transaction. Row, insert and update types come from your Kysely `DB` interface.
 *
 * Subclasses name their table and add queries with the full Kysely builder on `this.db`.
 *
 * @example
 * ```ts
 * export class MessageRepository extends BaseRepository<DB, 'messages'> {
 *   readonly table = 'messages'
 *   // what lists sort and page on: never-NULL columns and the type of their cursor values
 *   protected override readonly keys = { id: 'uuid', createdAt: 'timestamp' } satisfies KeyColumns<RowOf<DB, 'messages'>>
 *
 *   countInChat(chatId: string) {
 *     return this.db.selectFrom('messages').where('chatId', '=', chatId)
 *       .select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
 *   }
 * }
 * ```
 */
export abstract class BaseRepository<DB, TB extends keyof DB & string> {
  /** Repositories need only the request's unit of work (see `provide`). */
  static readonly inject = [UnitOfWork] as const

  /** The table this repository reads and writes. */
  abstract readonly table: TB

  constructor(protected readonly uow: UnitOfWork<DB>) {}

  /**
   * The columns lists may sort and page on, declared once: never NULL, with their cursor types (see
   * {@link KeyColumns}). The id is always a key; declare its type too (`id: 'uuid'`) so a forged cursor is
   * refused before any SQL runs.
   */
  protected readonly keys: KeyColumns<RowOf<DB, TB>> = {}

  /** The unit's query builder: use it for custom queries in subclasses. */
  protected get db(): Kysely<DB> {
    return this.uow.db
  }

  // Dynamic table and column names defeat Kysely's static typing inside the generic methods; the
  // public signatures stay fully typed from DB.
  get #anyDb(): Kysely<any> {
    return this.uow.db as Kysely<any>
  }

  get #tableName(): string {
    return this.table
  }

  #col(field: string): string {
    return `${this.table}.${field}`
  }

  /** The row with this id, or `undefined` (also when the scope hides it). */
  async findById(id: IdOf<RowOf<DB, TB>>, options: ScopeOptions<DB, TB> = {}): Promise<RowOf<DB, TB> | undefined> {
    return this.#findOne({ id }, options.scope)
  }

  /** The first row matching `where`, or `undefined`. */
  async findOne(where: Filter<RowOf<DB, TB>>, options: ScopeOptions<DB, TB> = {}): Promise<RowOf<DB, TB> | undefined> {
    return this.#findOne(where, options.scope)
  }

  async #findOne(where: Filter<any>, scope: Scope<DB, TB> | undefined): Promise<RowOf<DB, TB> | undefined> {
    const cached = scope ? undefined : this.#cachedFindOne(where)
    if (cached) return (await this.#anyDb.executeQuery(cached)).rows[0] as RowOf<DB, TB> | undefined
    return (await this.#findOneQuery(where, scope).executeTakeFirst()) as RowOf<DB, TB> | undefined
  }

  #findOneQuery(where: Filter<any>, scope: Scope<DB, TB> | undefined) {
    return this.#anyDb
      .selectFrom(this.#tableName)
      .selectAll(this.#tableName)
      .where((eb) => this.#conditions(eb, where, scope))
      .limit(1)
  }

  /**
   * `findById(id)` and `findOne({ a, b })` without a scope, with plain values, compile to the same SQL
   * every time: it is built once per database and field list, and each call only fills in the values
   * (building and compiling a Kysely query costs more than the rest of the call on a hot route).
   * `undefined` when `where` is anything else.
   */
  #cachedFindOne(where: Filter<any>): CompiledQuery | undefined {
    const fields = Object.keys(where)
    const values: unknown[] = []
    for (const field of fields) {
      const value = where[field]
      const type = typeof value
      if (type !== 'string' && type !== 'number' && type !== 'boolean' && type !== 'bigint') return undefined
      values.push(value)
    }
    const root = this.uow.root as object
    let templates = findOneTemplates.get(root)
    if (!templates) findOneTemplates.set(root, (templates = new Map()))
    const key = `${this.table}\u0000${fields.join('\u0000')}`
    let template = templates.get(key)
    if (template === undefined) {
      template = compileFindOneTemplate(this.#findOneQuery(Object.fromEntries(fields.map((field, i) => [field, slotMarker(i)])), undefined).compile(), fields.length)
      templates.set(key, template)
    }
    if (template === null) return undefined
    const parameters = template.parameters.map((p) => (p instanceof Slot ? values[p.index] : p))
    return { query: template.query, sql: template.sql, parameters, queryId: createQueryId() }
  }

  /**
   * A keyset-paginated page: `sort` keys (then the id) order the rows; `cursor` continues after the
   * previous page's last row, so rows inserted meanwhile never shift or repeat items, and a deep page
   * costs what the first does (no OFFSET).
   *
   * With `after: { id }` the pages start right after that anchor row in the sort order (rows inserted
   * meanwhile that sort after it are picked up); with `before: { id }` they walk back from it: the first
   * page holds the `limit` rows right before the anchor, still in the sort order, and `nextCursor`
   * continues further back. An anchor that does not exist (or that `where` or the scope hides) gives
   * `undefined` instead of a page; once a `cursor` is passed the anchor is not looked up again. Write
   * `after`/`before` in the call (or type the query as an {@link AnchoredListQuery}): a query built with
   * an optional anchor, `{ ...(id ? { after: { id } } : {}) }`, is typed by the plain overload, which
   * promises a page; branch instead.
   *
   * A client's cursor is checked against the repository's {@link keys} (a NULL or a value of the wrong
   * type is a 400 "Invalid cursor" before any SQL).
   *
   * @example
   * ```ts
   * // newest first, 50 a page; the next page goes on from the previous one's nextCursor
   * const page = await messages.findMany({ where: { chatId }, sort: ['-createdAt'], limit: 50 })
   * const next = page.nextCursor ? await messages.findMany({ where: { chatId }, sort: ['-createdAt'], limit: 50, cursor: page.nextCursor }) : undefined
   * // what came after the last message a client saw, oldest first (undefined: no such message in this chat)
   * const missed = await messages.findMany({ where: { chatId }, sort: ['createdAt'], after: { id: lastSeenId } })
   * // the 20 right before it, still oldest first (scrolling up)
   * const earlier = await messages.findMany({ where: { chatId }, sort: ['createdAt'], before: { id: lastSeenId }, limit: 20 })
   * ```
   */
  findMany(query: AnchoredListQuery<RowOf<DB, TB>>, options?: ScopeOptions<DB, TB>): Promise<Page<RowOf<DB, TB>> | undefined>
  findMany(query?: ListQuery<RowOf<DB, TB>>, options?: ScopeOptions<DB, TB>): Promise<Page<RowOf<DB, TB>>>
  async findMany(
    query: ListQuery<RowOf<DB, TB>> & { readonly after?: { readonly id: unknown }; readonly before?: { readonly id: unknown } } = {},
    options: ScopeOptions<DB, TB> = {},
  ): Promise<Page<RowOf<DB, TB>> | undefined> {
    const limit = query.limit ?? DEFAULT_LIMIT
    const backward = query.before !== undefined
    // Walking back from an anchor is walking forward in the reversed order (NULLs count as the largest
    // values in both directions, so the reversed order is exactly the reverse); the page is turned round.
    const keys = this.#sortKeys(query.sort).map((k) => (backward ? { field: k.field, desc: !k.desc } : k))
    const anchor = query.after ?? query.before
    let from: readonly (string | null)[] | undefined
    if (query.cursor) from = this.#decode(query.cursor, keys)
    else if (anchor) {
      from = await this.#valuesAt(anchor.id, keys, query.where ?? {}, options.scope)
      if (from === undefined) return undefined
    }

    // The cursor takes a key's text from the row when the row holds it exactly (a uuid, an integer),
    // from a `::text` column otherwise (a Date would lose a timestamp's microseconds). A row that turns
    // out not to hold it (an int8 beyond 2^53 parsed into a number) makes the page read again with
    // every key as text.
    const page =
      (await this.#page(query, options, keys, from, limit, true)) ?? (await this.#page(query, options, keys, from, limit, false))!
    if (backward) page.items.reverse()
    const total = query.count ? await this.count(query.where, options) : undefined
    return { items: page.items as RowOf<DB, TB>[], nextCursor: page.nextCursor, ...(total === undefined ? {} : { total }) }
  }

  /**
   * One page of {@link findMany}, in the (possibly reversed) sort order, or `undefined` when a key's
   * text was to be read from the row (`textFromRows`) and a row does not hold it exactly.
   */
  async #page(
    query: ListQuery<RowOf<DB, TB>>,
    options: ScopeOptions<DB, TB>,
    keys: readonly { field: string; desc: boolean }[],
    from: readonly (string | null)[] | undefined,
    limit: number,
    textFromRows: boolean,
  ): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null } | undefined> {
    const fromRow = keys.map((k) => (textFromRows ? this.#textInRow(k.field) : undefined))
    const cursorColumns = this.#cursorColumns(keys, fromRow)
    let select = this.#anyDb.selectFrom(this.#tableName).selectAll(this.#tableName)
    if (cursorColumns.length) select = select.select(cursorColumns)
    select = select.where((eb) => {
      const parts = [this.#conditions(eb, query.where ?? {}, options.scope)]
      if (from) parts.push(this.#after(eb, keys, from))
      return eb.and(parts)
    })
    for (const k of keys) select = select.orderBy(this.#col(k.field), k.desc ? 'desc' : 'asc')
    const rows = (await select.limit(limit + 1).execute().catch((error: unknown) => {
      // A cursor value of a key without a declared type that PostgreSQL cannot read as the column's type.
      throw query.cursor && isDatabaseError(error) && CURSOR_DATA_ERRORS.has(error.code) ? invalidCursor(error) : error
    })) as Record<string, unknown>[]

    const hasMore = rows.length > limit
    let nextCursor: string | null = null
    if (hasMore) {
      const last = rows[limit - 1]!
      const values: (string | null)[] = []
      for (let i = 0; i < keys.length; i++) {
        const type = fromRow[i]
        const value = type ? rowText(last[keys[i]!.field], type) : (last[`fkcursor${i}`] as string | null)
        if (value === undefined) return undefined
        values.push(value)
      }
      nextCursor = this.#encode(keys, values)
    }
    const pageRows = hasMore ? rows.slice(0, limit) : rows
    return { items: cursorColumns.length ? withoutCursorColumns(pageRows, keys.length) : pageRows, nextCursor }
  }

  /**
   * A cursor positioned at the row with this `id`, for {@link findMany} with the same `sort`: the pages
   * it starts hold the rows after that row, in that order, each exactly once, including rows inserted
   * meanwhile that sort after it. `findMany({ after: { id } })` does the same in one call; this is for
   * handing the position to a client. The row's sort values are read in SQL, so a timestamp keeps its
   * microseconds. `undefined` when no row with this id matches `where` (and the scope).
   *
   * @example
   * ```ts
   * const sort = ['createdAt'] as const
   * const cursor = await messages.cursorAt(lastSeenId, { where: { chatId }, sort })
   * if (cursor === undefined) throw new NotFoundError('Message not found')
   * const page = await messages.findMany({ where: { chatId }, sort, cursor, limit: 50 })
   * ```
   */
  async cursorAt(
    id: IdOf<RowOf<DB, TB>>,
    query: Pick<ListQuery<RowOf<DB, TB>>, 'where' | 'sort'> = {},
    options: ScopeOptions<DB, TB> = {},
  ): Promise<string | undefined> {
    const keys = this.#sortKeys(query.sort)
    const values = await this.#valuesAt(id, keys, query.where ?? {}, options.scope)
    return values === undefined ? undefined : this.#encode(keys, values)
  }

  /** How many rows match `where` (and the scope). */
  async count(where: Filter<RowOf<DB, TB>> = {}, options: ScopeOptions<DB, TB> = {}): Promise<number> {
    const row = await this.#anyDb
      .selectFrom(this.#tableName)
      .select(sql<number>`count(*)::int`.as('count'))
      .where((eb) => this.#conditions(eb, where, options.scope))
      .executeTakeFirstOrThrow()
    return row.count as number
  }

  /** Whether any row matches `where` (and the scope). */
  async exists(where: Filter<RowOf<DB, TB>>, options: ScopeOptions<DB, TB> = {}): Promise<boolean> {
    const row = await this.#anyDb
      .selectNoFrom((eb) =>
        eb
          .exists(eb.selectFrom(this.#tableName).select(sql`1`.as('one')).where((inner) => this.#conditions(inner, where, options.scope)))
          .as('found'),
      )
      .executeTakeFirstOrThrow()
    return Boolean(row.found)
  }

  /** Inserts one row and returns it as stored (defaults filled in). */
  async create(values: Insertable<DB[TB]>): Promise<RowOf<DB, TB>> {
    return (await this.#anyDb.insertInto(this.#tableName).values(values).returningAll().executeTakeFirstOrThrow()) as RowOf<DB, TB>
  }

  /** Inserts several rows in one statement and returns them in input order. */
  async createMany(values: readonly Insertable<DB[TB]>[]): Promise<RowOf<DB, TB>[]> {
    if (values.length === 0) return []
    return (await this.#anyDb.insertInto(this.#tableName).values([...values]).returningAll().execute()) as RowOf<DB, TB>[]
  }

  /** Changes the given fields of one row; `undefined` when no (visible) row has this id. */
  async update(
    id: IdOf<RowOf<DB, TB>>,
    patch: Updateable<DB[TB]>,
    options: ScopeOptions<DB, TB> = {},
  ): Promise<RowOf<DB, TB> | undefined> {
    const changes = Object.fromEntries(Object.entries(patch as object).filter(([, v]) => v !== undefined))
    if (Object.keys(changes).length === 0) return this.findById(id, options)
    return (await this.#anyDb
      .updateTable(this.#tableName)
      .set(changes)
      .where((eb) => this.#conditions(eb, { id }, options.scope))
      .returningAll()
      .executeTakeFirst()) as RowOf<DB, TB> | undefined
  }

  /** Deletes one row; `false` when no (visible) row has this id. */
  async delete(id: IdOf<RowOf<DB, TB>>, options: ScopeOptions<DB, TB> = {}): Promise<boolean> {
    const result = await this.#anyDb
      .deleteFrom(this.#tableName)
      .where((eb) => this.#conditions(eb, { id }, options.scope))
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  /**
   * The sort values in PostgreSQL's own text form (a timestamp keeps its microseconds), as
   * `fkcursor<i>`; with `fromRow`, only those of the keys whose text is not read from the row.
   */
  #cursorColumns(keys: readonly { field: string }[], fromRow?: readonly (RowTextType | undefined)[]) {
    const columns = []
    for (let i = 0; i < keys.length; i++) {
      if (!fromRow?.[i]) columns.push(sql<string | null>`${sql.ref(this.#col(keys[i]!.field))}::text`.as(`fkcursor${i}`))
    }
    return columns
  }

  /** The declared type of `field` when a row holds the exact text of its values (see {@link rowText}). */
  #textInRow(field: string): RowTextType | undefined {
    const type = (this.keys as Readonly<Record<string, CursorKeyType | undefined>>)[field]
    return type === 'uuid' || type === 'integer' ? type : undefined
  }

  /** Whether `field` is a declared key (never NULL); the id always is. */
  #isKey(field: string): boolean {
    return field === 'id' || Object.hasOwn(this.keys, field)
  }

  /** The sort values of the row with this id (in `where` and the scope), or `undefined`. */
  async #valuesAt(
    id: unknown,
    keys: readonly { field: string }[],
    where: Filter<any>,
    scope: Scope<DB, TB> | undefined,
  ): Promise<(string | null)[] | undefined> {
    const row = (await this.#anyDb
      .selectFrom(this.#tableName)
      .select(this.#cursorColumns(keys))
      .where((eb) => this.#conditions(eb, { ...where, id }, scope))
      .executeTakeFirst()) as Record<string, string | null> | undefined
    return row && keys.map((_, i) => row[`fkcursor${i}`] ?? null)
  }

  #encode(keys: readonly { field: string; desc: boolean }[], values: readonly (string | null)[]): string {
    return encodeCursor({ sort: sortIdOf(keys), values })
  }

  /** A client's cursor for this sort, checked against the declared keys: a 400 for anything else. */
  #decode(raw: string, keys: readonly { field: string; desc: boolean }[]): readonly (string | null)[] {
    const declared: Readonly<Record<string, CursorKeyType | undefined>> = this.keys
    return decodeCursor(
      raw,
      sortIdOf(keys),
      keys.length,
      (i) => this.#isKey(keys[i]!.field),
      (i) => declared[keys[i]!.field],
    ).values
  }

  #sortKeys(sort: readonly SortKey<RowOf<DB, TB>>[] | undefined): { field: string; desc: boolean }[] {
    const keys = (sort ?? []).map((key) => (key.startsWith('-') ? { field: key.slice(1), desc: true } : { field: key, desc: false }))
    if (!keys.some((k) => k.field === 'id')) keys.push({ field: 'id', desc: keys[keys.length - 1]?.desc ?? false })
    return keys
  }

  /**
   * Rows strictly after the cursor in the sort order: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …
   * NULLs sort as the largest values (PostgreSQL's default for ASC and DESC alike).
   */
  #after(
    eb: ExpressionBuilder<any, any>,
    keys: readonly { field: string; desc: boolean }[],
    values: readonly (string | null)[],
  ): Expression<SqlBool> {
    const sameDirection = keys.every((k) => k.desc === keys[0]!.desc)
    if (sameDirection && keys.every((k, i) => this.#isKey(k.field) && values[i] !== null)) {
      const refs = sql.join(keys.map((k) => sql.ref(this.#col(k.field))))
      const vals = sql.join(values.map((v) => sql.val(v)))
      return keys[0]!.desc ? sql<SqlBool>`(${refs}) < (${vals})` : sql<SqlBool>`(${refs}) > (${vals})`
    }
    const ors: Expression<SqlBool>[] = []
    for (let i = 0; i < keys.length; i++) {
      const ands: Expression<SqlBool>[] = []
      for (let j = 0; j < i; j++) {
        const v = values[j] ?? null
        ands.push(v === null ? eb(this.#col(keys[j]!.field), 'is', null) : eb(this.#col(keys[j]!.field), '=', v))
      }
      const { field, desc } = keys[i]!
      const v = values[i] ?? null
      const ref = this.#col(field)
      if (!desc) {
        if (v === null) continue // nothing sorts after NULL ascending
        ands.push(eb.or([eb(ref, '>', v), eb(ref, 'is', null)]))
      } else {
        ands.push(v === null ? eb(ref, 'is not', null) : eb(ref, '<', v))
      }
      ors.push(eb.and(ands))
    }
    return ors.length ? eb.or(ors) : sql<SqlBool>`false`
  }

  #conditions(eb: ExpressionBuilder<any, any>, where: Filter<any>, scope: Scope<DB, TB> | undefined): Expression<SqlBool> {
    const parts: Expression<SqlBool>[] = []
    for (const [field, condition] of Object.entries(where)) {
      if (condition === undefined) continue
      const ref = this.#col(field)
      const ops = isOperatorObject(condition) ? condition : { eq: condition }
      for (const [op, value] of Object.entries(ops)) {
        if (value === undefined) continue
        const comparison = COMPARISONS[op]
        if (comparison) {
          parts.push(eb(ref, comparison, value))
          continue
        }
        switch (op) {
          case 'in':
            parts.push((value as unknown[]).length ? eb(ref, 'in', value as unknown[]) : sql<SqlBool>`false`)
            break
          case 'contains':
            parts.push(eb(ref, 'ilike', `%${escapeLike(String(value))}%`))
            break
          case 'ilike':
            parts.push(eb(ref, 'ilike', String(value)))
            break
          case 'isNull':
            parts.push(eb(ref, value ? 'is' : 'is not', null))
            break
          default:
            throw new TypeError(`Unknown filter operator "${op}" on ${field}`)
        }
      }
    }
    if (scope) parts.push(scope(eb as ExpressionBuilder<DB, TB>))
    return eb.and(parts)
  }
}

/** The sort a cursor belongs to, e.g. `-createdAt,-id`: a cursor of one sort is refused by another. */
function sortIdOf(keys: readonly { field: string; desc: boolean }[]): string {
  return keys.map((k) => `${k.desc ? '-' : ''}${k.field}`).join(',')
}

/** Key types whose values a row holds as their exact text: a uuid is a string, an integer a string, bigint or safe number. */
type RowTextType = Extract<CursorKeyType, 'uuid' | 'integer'>

/**
 * A key's value as PostgreSQL writes it, taken from a row: the string the driver returned, or the
 * digits of an integer it parsed exactly (a bigint, a safe integer). `undefined` for anything else:
 * an int8 beyond 2^53 parsed into a number has lost digits, and a cursor made of it would skip or
 * repeat rows.
 */
function rowText(value: unknown, type: RowTextType): string | undefined {
  if (typeof value === 'string') return value
  if (type === 'integer' && (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)))) return String(value)
  return undefined
}

/** The filter operators that are plain SQL comparisons. */
const COMPARISONS: Readonly<Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='>> = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' }

/**
 * The rows without the `fkcursor<i>` columns a page selects for its cursor: copied into new objects,
 * all of one shape, rather than `delete`d (which turns every row into a slow dictionary object, and
 * the response serializer then reads each field by hash lookup). The copy is a function compiled
 * once per list of fields (`{ id: row.id, … }`, see {@link copierOf}): a loop assigning dynamic keys
 * cost about 16 µs for a page of 50 messages.
 */
function withoutCursorColumns(rows: Record<string, unknown>[], cursorColumns: number): Record<string, unknown>[] {
  const first = rows[0]
  if (!first) return rows
  const fields = Object.keys(first).filter((key) => !isCursorColumn(key, cursorColumns))
  return rows.map(copierOf(fields))
}

function isCursorColumn(key: string, cursorColumns: number): boolean {
  return key.startsWith('fkcursor') && Number(key.slice(8)) < cursorColumns
}

type RowCopier = (row: Record<string, unknown>) => Record<string, unknown>

/** Compiled copiers by their field list (bounded: past {@link MAX_COPIERS} lists, the loop does it). */
const copiers = new Map<string, RowCopier>()
const MAX_COPIERS = 1_000

/** A function that copies `fields` of a row into a new object literal, fields quoted with JSON.stringify. */
function copierOf(fields: readonly string[]): RowCopier {
  const key = fields.join('\u0000')
  let copier = copiers.get(key)
  if (copier) return copier
  // A column named __proto__ would set the copy's prototype in a literal or by assignment.
  if (copiers.size >= MAX_COPIERS || fields.includes('__proto__')) {
    return (row) => {
      const copy: Record<string, unknown> = {}
      for (const field of fields) Object.defineProperty(copy, field, { value: row[field], enumerable: true, writable: true, configurable: true })
      return copy
    }
  }
  const body = fields.map((field) => `${JSON.stringify(field)}: row[${JSON.stringify(field)}]`).join(', ')
  copier = new Function('row', `return { ${body} }`) as RowCopier
  copiers.set(key, copier)
  return copier
}

/** Where the value of the `index`th field goes among a template's parameters. */
class Slot {
  constructor(readonly index: number) {}
}

/** A compiled `findOne` whose parameters are the values of its fields ({@link Slot}s) or constants. */
interface FindOneTemplate {
  readonly query: CompiledQuery['query']
  readonly sql: string
  readonly parameters: readonly unknown[]
}

/** Per database (its dialect and plugins shape the SQL), per table and field list; `null`: not cacheable. */
const findOneTemplates = new WeakMap<object, Map<string, FindOneTemplate | null>>()

/** The value compiled in place of the `index`th field's value, found again among the parameters. */
function slotMarker(index: number): string {
  return `\u0000fastkit-slot-${index}\u0000`
}

/** The template of `compiled`, or `null` unless each slot marker is exactly one parameter (and nowhere in the SQL). */
function compileFindOneTemplate(compiled: CompiledQuery, slots: number): FindOneTemplate | null {
  const seen = new Array<number>(slots).fill(0)
  const parameters = compiled.parameters.map((p) => {
    const slot = typeof p === 'string' ? /^\u0000fastkit-slot-(\d+)\u0000$/.exec(p) : null
    if (!slot) return p
    seen[Number(slot[1])]!++
    return new Slot(Number(slot[1]))
  })
  if (seen.some((n) => n !== 1) || compiled.sql.includes('fastkit-slot-')) return null
  return { query: compiled.query, sql: compiled.sql, parameters }
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Date) && !Array.isArray(value)
}
