import { z } from 'zod'
import { ValidationError, type FieldIssue } from '../http/errors.js'
import { FILTER_OPERATORS, type FilterOperator, type ListQuery } from '../repository/list-query.js'

/**
 * How a list route may be queried. Fields not listed here are refused with 400, never ignored.
 *
 * @example
 * ```ts
 * const list: ListOptions<'done' | 'createdAt'> = { filter: ['done'], sort: ['createdAt'], defaultSort: ['-createdAt'], maxLimit: 50 }
 * ```
 */
export interface ListOptions<Field extends string = string> {
  /** Fields clients may filter on, as `?field=value` or `?field[op]=value`. */
  readonly filter?: readonly Field[]
  /** Fields clients may sort on, as `?sort=field,-other`. */
  readonly sort?: readonly Field[]
  /** Sort when the client names none; default: by id. */
  readonly defaultSort?: readonly (Field | `-${Field}`)[]
  /** Page size when the client names none. Default 50. */
  readonly defaultLimit?: number
  /** Largest page a client may ask for. Default 100. */
  readonly maxLimit?: number
}

type FieldKind = 'string' | 'number' | 'boolean' | 'date' | 'other'

const OPERATORS_BY_KIND: Record<FieldKind, readonly FilterOperator[]> = {
  string: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'contains', 'ilike', 'isNull'],
  number: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'isNull'],
  date: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'isNull'],
  boolean: ['eq', 'ne', 'isNull'],
  other: ['eq', 'ne', 'in', 'isNull'],
}

/** Peels optional/nullable/default wrappers off a zod schema. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema as z.ZodType & { _zod: { def: { type: string; innerType?: z.ZodType } } }
  while (['optional', 'nullable', 'default', 'readonly', 'nonoptional'].includes(current._zod.def.type) && current._zod.def.innerType) {
    current = current._zod.def.innerType as typeof current
  }
  return current
}

function kindOf(schema: z.ZodType): FieldKind {
  const type = unwrap(schema)._zod.def.type
  if (type === 'string' || type === 'enum' || type === 'literal') return 'string'
  if (type === 'number' || type === 'int' || type === 'bigint') return 'number'
  if (type === 'boolean') return 'boolean'
  if (type === 'date') return 'date'
  return 'other'
}

function coerce(kind: FieldKind, raw: string): unknown {
  switch (kind) {
    case 'number':
      return raw.trim() === '' ? Number.NaN : Number(raw)
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw
    case 'date':
      return new Date(raw)
    default:
      return raw
  }
}

/**
 * The querystring schema of a list route: paging, sorting, and one optional key per filter. `BaseRouter`
 * uses it for `GET /`; use it for a list route of your own.
 *
 * @example
 * ```ts method-body=TaskRouter
 * // GET /tasks/open: the open tasks, with the generated list's paging, sorting and filters
 * const options = { filter: ['title'], sort: ['createdAt'] } satisfies ListOptions
 * this.route({ method: 'GET', url: '/open', query: listQuerySchema(TaskRead, options), response: pageSchema(TaskRead),
 *   handler: ({ service, query }) => {
 *     const list: ListQuery<Task> = parseListQuery(query, TaskRead, options)
 *     return service.list({ ...list, where: { ...list.where, done: false } })
 *   } })
 * ```
 */
export function listQuerySchema(read: z.ZodObject, options: ListOptions): z.ZodObject {
  const maxLimit = options.maxLimit ?? 100
  const shape: Record<string, z.ZodType> = {
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(maxLimit)
      .optional()
      .describe(`Page size, 1..${maxLimit} (default ${options.defaultLimit ?? 50})`),
    cursor: z.string().max(4096).optional().describe('The nextCursor of the previous page'),
    count: z.enum(['true', 'false']).optional().describe('Also return the total number of matching items'),
  }
  if (options.sort?.length) {
    shape.sort = z
      .string()
      .max(512)
      .optional()
      .describe(`Comma-separated sort keys, "-" for descending. Sortable: ${options.sort.join(', ')}`)
  }
  for (const field of options.filter ?? []) {
    const fieldSchema = read.shape[field]
    if (!fieldSchema) throw new TypeError(`Cannot filter on "${field}": it is not a field of the read schema`)
    const kind = kindOf(fieldSchema as z.ZodType)
    shape[field] = z.string().optional().describe(`Filter: ${field} equals`)
    for (const op of OPERATORS_BY_KIND[kind]) {
      shape[`${field}[${op}]`] = z
        .string()
        .optional()
        .describe(op === 'in' ? `Filter: ${field} in a comma-separated list` : op === 'isNull' ? `Filter: ${field} is null (true/false)` : `Filter: ${field} ${op}`)
    }
  }
  // Loose: unknown keys reach parseListQuery, which names them in a 400 instead of dropping them.
  return z.object(shape).loose()
}

/**
 * Turns a list route's raw querystring into a typed {@link ListQuery}, refusing (400, with every
 * problem listed) unknown parameters, fields that are not allow-listed, unknown operators and values
 * that do not fit the field's schema.
 *
 * @example
 * ```ts
 * parseListQuery({ done: 'false', sort: '-createdAt', limit: '20' }, TaskRead, { filter: ['done'], sort: ['createdAt'] })
 * // { where: { done: { eq: false } }, sort: ['-createdAt'], limit: 20, cursor: null, count: false }
 * ```
 */
export function parseListQuery(raw: Record<string, unknown>, read: z.ZodObject, options: ListOptions): ListQuery<any> {
  const issues: FieldIssue[] = []
  const where: Record<string, Record<string, unknown>> = {}
  let sort: string[] | undefined = options.defaultSort ? [...options.defaultSort] : undefined
  let limit = options.defaultLimit ?? 50
  let cursor: string | undefined
  let count = false
  const filterable = new Set<string>(options.filter ?? [])
  const sortable = new Set<string>(options.sort ?? [])

  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue
    const path = `querystring.${key}`
    if (Array.isArray(value)) {
      issues.push({ path, message: 'must be given once' })
      continue
    }
    const text = String(value)
    if (key === 'limit') limit = Number(text)
    else if (key === 'cursor') cursor = text
    else if (key === 'count') count = text === 'true'
    else if (key === 'sort' && sortable.size) {
      const keys = text.split(',').map((s) => s.trim())
      const bad = keys.filter((k) => !sortable.has(k.replace(/^-/, '')))
      if (bad.length) issues.push({ path, message: `cannot sort by ${bad.join(', ')}; sortable: ${[...sortable].join(', ')}` })
      else sort = keys
    } else {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[([A-Za-z]+)\])?$/.exec(key)
      const field = match?.[1]
      const op = (match?.[2] ?? 'eq') as FilterOperator
      if (!field || !filterable.has(field)) {
        issues.push({
          path,
          message: filterable.size
            ? `unknown parameter; filterable fields: ${[...filterable].join(', ')}`
            : 'unknown parameter; this list takes no filters',
        })
        continue
      }
      const fieldSchema = unwrap(read.shape[field] as z.ZodType)
      const kind = kindOf(fieldSchema)
      if (!FILTER_OPERATORS.includes(op) || !OPERATORS_BY_KIND[kind].includes(op)) {
        issues.push({ path, message: `unknown operator "${op}"; ${field} takes ${OPERATORS_BY_KIND[kind].join(', ')}` })
        continue
      }
      let parsed: unknown
      if (op === 'isNull') {
        if (text !== 'true' && text !== 'false') {
          issues.push({ path, message: 'must be true or false' })
          continue
        }
        parsed = text === 'true'
      } else if (op === 'contains' || op === 'ilike') {
        parsed = text
      } else {
        const parts = op === 'in' ? text.split(',') : [text]
        const values: unknown[] = []
        for (const part of parts) {
          const result = fieldSchema.safeParse(coerce(kind, part))
          if (!result.success) {
            issues.push({ path, message: `"${part}" is not a valid ${field}: ${result.error.issues[0]?.message ?? 'invalid'}` })
          } else values.push(result.data)
        }
        if (values.length !== parts.length) continue
        parsed = op === 'in' ? values : values[0]
      }
      ;(where[field] ??= {})[op] = parsed
    }
  }
  if (issues.length) {
    throw new ValidationError(`Invalid list query: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
  }
  return {
    where,
    ...(sort ? { sort } : {}),
    limit,
    cursor: cursor ?? null,
    count,
  }
}
