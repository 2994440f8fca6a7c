/**
 * The columns behind each unique constraint or unique index, read from the catalog, so that a unique
 * violation can name the field (`username already exists`) without parsing PostgreSQL's message or
 * `detail` text. An expression index such as `lower(username)` yields the columns the expression uses.
 *
 * Both drivers fill the cache: the pg pool looks a name up (once) when a violation names a constraint
 * it does not know; PGlite, which has one session that a failed transaction leaves unusable, reads the
 * catalog before the first write after a schema change (see pglite-dialect.ts).
 */

/** Runs one statement and returns its rows (pg pool or PGlite). */
export type CatalogQuery = (sql: string) => Promise<readonly { schema: string; name: string; columns: readonly string[] | string }[]>

/** Unique indexes (every unique constraint has one of the same name) and the table columns they use. */
export const UNIQUE_INDEXES_SQL = `
select n.nspname as schema, c.relname as name, array_agg(a.attname::text order by k.ord) as columns
from pg_catalog.pg_index i
join pg_catalog.pg_class c on c.oid = i.indexrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral (
  select attnum, min(ord) as ord from (
    -- plain key columns, in key order
    select key.attnum, key.ord from unnest(i.indkey::int2[]) with ordinality as key(attnum, ord) where key.attnum > 0
    union all
    -- columns used by key expressions such as lower(username): the index depends on them
    select d.refobjsubid, 1000 + d.refobjsubid from pg_catalog.pg_depend d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = i.indexrelid
      and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = i.indrelid and d.refobjsubid > 0
  ) used group by attnum
) k
join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
where i.indisunique and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
group by n.nspname, c.relname`

const COLUMNS = Symbol.for('fastkit.constraintColumns')

/** Constraint columns per `schema.name`, shared by every database of the process (same app, same schema). */
const known = new Map<string, readonly string[]>()

function key(schema: string | undefined, name: string): string {
  return `${schema ?? 'public'}.${name}`
}

/** Reads every unique index of the database into the cache. */
export async function loadUniqueConstraints(query: CatalogQuery): Promise<void> {
  for (const row of await query(UNIQUE_INDEXES_SQL)) {
    // pg returns text[] as an array; PGlite too, but be lenient with the `{a,b}` text form.
    const columns = typeof row.columns === 'string' ? row.columns.replace(/^\{|\}$/g, '').split(',') : row.columns
    known.set(key(row.schema, row.name), columns)
  }
}

/** The cached columns of a unique constraint, if known. */
export function knownConstraintColumns(schema: string | undefined, name: string): readonly string[] | undefined {
  return known.get(key(schema, name))
}

/** Attaches the columns to the error itself, so mapping it needs no lookup (and no shared cache). */
export function attachConstraintColumns(error: object, columns: readonly string[]): void {
  Object.defineProperty(error, COLUMNS, { value: columns, enumerable: false, configurable: true })
}

/** The columns attached by {@link attachConstraintColumns}, else the cached ones, else `undefined`. */
export function constraintColumnsOf(error: { constraint?: string; schema?: string }): readonly string[] | undefined {
  const attached = (error as { [COLUMNS]?: readonly string[] })[COLUMNS]
  if (attached) return attached
  return error.constraint ? knownConstraintColumns(error.schema, error.constraint) : undefined
}
