import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DEFAULT_MIGRATION_TABLE, Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'

/**
 * Where {@link migrateToLatest} finds its migrations: the migration modules themselves (imported by
 * your code, so every runner and bundler sees them: tsc, tsx, vitest, esbuild), or a folder read at
 * run time.
 *
 * @example
 * ```ts
 * import * as tasks from './migrations/001-tasks.js'
 * import * as users from './migrations/002-users.js'
 * await migrateToLatest(db, { migrations: { '001-tasks': tasks, '002-users': users } })
 * // or, read from a folder at run time (plain node on built .js files, or tsx):
 * await migrateToLatest(db, { folder: new URL('./migrations', import.meta.url) })
 * ```
 */
export interface MigrateOptions {
  /**
   * A folder of migration modules (each exports `up` and optionally `down`), applied in file-name
   * order. `.ts` files are picked up when running under tsx or vitest, `.js` files always.
   */
  readonly folder?: string | URL
  /**
   * The migrations themselves, keyed by name and applied in name order: objects with `up` (and
   * `down`), such as a module namespace (`import * as m from './001-tasks.js'`). Prefer this under
   * vitest and bundlers, which do not see files read from a folder.
   */
  readonly migrations?: Readonly<Record<string, Migration>>
}

/**
 * Applies every pending migration, in one transaction each, under Kysely's migration lock (so several
 * processes starting at once are safe). Throws if any migration fails, after rolling that one back.
 *
 * @example
 * ```ts
 * await migrateToLatest(db, { folder: new URL('./migrations', import.meta.url) })
 * ```
 */
export async function migrateToLatest(db: Kysely<any>, options: MigrateOptions): Promise<MigrationResultSet> {
  const provider = migrationProvider(options)
  // The common start-up, nothing to apply, costs one query instead of the Migrator's introspection,
  // lock table and locked transaction (measured: about a third of the chat's start on PGlite).
  const migrations = await provider.getMigrations()
  if (await allApplied(db, Object.keys(migrations))) return { results: [] }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const result = await migrator.migrateToLatest()
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName
    const what = failed ? `Migration ${failed} failed` : 'Migrating failed'
    throw new Error(`${what}: ${String((result.error as Error).message ?? result.error)}`, {
      cause: result.error,
    })
  }
  return result
}

function migrationProvider(options: MigrateOptions): MigrationProvider {
  if (options.migrations) {
    const migrations = options.migrations
    return { getMigrations: async () => migrations }
  }
  if (!options.folder) throw new Error('migrateToLatest needs `folder` or `migrations`')
  const folder = options.folder instanceof URL ? fileURLToPath(options.folder) : options.folder
  return {
    async getMigrations() {
      const files = (await fs.readdir(folder)).filter((f) => /\.(m?js|ts)$/.test(f) && !f.endsWith('.d.ts')).sort()
      const migrations: Record<string, Migration> = {}
      for (const file of files) {
        const name = file.replace(/\.(m?js|ts)$/, '')
        if (migrations[name]) continue // a built folder may hold both x.ts and x.js
        migrations[name] = await importMigration(path.join(folder, file))
      }
      return migrations
    },
  }
}

async function importMigration(file: string): Promise<Migration> {
  try {
    return (await import(pathToFileURL(file).href)) as Migration
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      // Plain node (and vitest, for files it did not transform) cannot load TypeScript from a folder.
      throw new Error(
        `migrateToLatest: cannot import ${file} here (${(error as Error).message}). Pass the migrations as ` +
          `imported modules instead of a folder: import * as m001 from './migrations/001-x.js', then ` +
          `migrateToLatest(db, { migrations: { '001-x': m001 } }); or compile them to .js first.`,
        { cause: error },
      )
    }
    throw error
  }
}

/** True when Kysely's migration table already lists exactly these migrations. */
async function allApplied(db: Kysely<any>, names: readonly string[]): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(db)
    const applied = new Set(rows.map((r) => r.name))
    return applied.size === names.length && names.every((name) => applied.has(name))
  } catch {
    return false // no migration table yet (or unreadable): the Migrator creates and checks it
  }
}
