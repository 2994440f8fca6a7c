import type { Insertable, Selectable, Updateable } from 'kysely'
import { NotFoundError } from '../http/errors.js'
import type { BaseRepository, IdOf, Scope } from '../repository/base-repository.js'
import type { ListQuery, Page } from '../repository/list-query.js'

/** The `DB` and table of a repository type. */
type DbOf<R> = R extends BaseRepository<infer DB, any> ? DB : never
type TableOf<R> = R extends BaseRepository<any, infer TB> ? TB : never
/**
 * The row type a repository returns.
 *
 * @example
 * ```ts
 * type Task = RepositoryRow<TaskRepository>
 * ```
 */
export type RepositoryRow<R> = R extends BaseRepository<infer DB, infer TB> ? Selectable<DB[TB]> : never
/**
 * The insert type of a repository's table.
 *
 * @example
 * ```ts
 * const values: RepositoryInsert<TaskRepository> = { title: 'write the docs' } // id, done, createdAt have defaults
 * ```
 */
export type RepositoryInsert<R> = R extends BaseRepository<infer DB, infer TB> ? Insertable<DB[TB]> : never
/**
 * The update type of a repository's table.
 *
 * @example
 * ```ts
 * const patch: RepositoryUpdate<TaskRepository> = { done: true }
 * ```
 */
export type RepositoryUpdate<R> = R extends BaseRepository<infer DB, infer TB> ? Updateable<DB[TB]> : never

/**
 * Business rules over one repository. The generic CRUD methods delegate to it, raise
 * {@link NotFoundError} for missing rows, and call overridable steps a subclass fills in:
 *
 * - {@link scope}: one row-visibility rule applied to list, get, update and delete (e.g. "only
 *   members see a chat"), so it is enforced once, everywhere;
 * - `beforeCreate` / `afterCreate`, `beforeUpdate` / `afterUpdate`, `beforeDelete` / `afterDelete`.
 *
 * `Create` and `Update` are what the API accepts (by default the table's insert and update types);
 * `beforeCreate` / `beforeUpdate` turn them into table values.
 *
 * @example
 * ```ts
 * export class MessageService extends BaseService<MessageRepository, MessageCreate> {
 *   static readonly inject = [MessageRepository, CurrentUser] as const
 *   constructor(messages: MessageRepository, private readonly user: AuthUser) { super(messages) }
 *
 *   protected override scope(): Scope<DB, 'messages'> {
 *     return (eb) => eb.exists(eb.selectFrom('members').whereRef('members.chatId', '=', 'messages.chatId')
 *       .where('members.userId', '=', this.user.id).select('members.userId'))
 *   }
 *   protected override async beforeCreate(input: MessageCreate) {
 *     return { ...input, senderId: this.user.id }
 *   }
 * }
 * ```
 */
export abstract class BaseService<
  R extends BaseRepository<any, any>,
  Create = RepositoryInsert<R>,
  Update = Partial<Create>,
> {
  constructor(protected readonly repository: R) {}

  /** The visibility rule for this service's rows; `undefined` (the default) shows every row. */
  protected scope(): Scope<DbOf<R>, TableOf<R>> | undefined {
    return undefined
  }

  /** What "not found" says. Override for a resource name: `new NotFoundError('Chat not found')`. */
  protected notFound(): NotFoundError {
    return new NotFoundError(`${this.constructor.name.replace(/Service$/, '') || 'Resource'} not found`)
  }

  /** Turns API input into table values; default: as is. Throw here to refuse a create. */
  protected async beforeCreate(input: Create): Promise<RepositoryInsert<R>> {
    return input as unknown as RepositoryInsert<R>
  }
  protected async afterCreate(_row: RepositoryRow<R>): Promise<void> {}

  /** Checks a change to `existing` and turns the patch into table values; default: as is. */
  protected async beforeUpdate(_existing: RepositoryRow<R>, patch: Update): Promise<RepositoryUpdate<R>> {
    return patch as unknown as RepositoryUpdate<R>
  }
  protected async afterUpdate(_row: RepositoryRow<R>, _previous: RepositoryRow<R>): Promise<void> {}

  /** Checks a delete of `existing`; throw `ForbiddenError` to refuse it. */
  protected async beforeDelete(_existing: RepositoryRow<R>): Promise<void> {}
  protected async afterDelete(_row: RepositoryRow<R>): Promise<void> {}

  /** A page of the rows this caller may see. */
  async list(query: ListQuery<RepositoryRow<R>> = {}): Promise<Page<RepositoryRow<R>>> {
    return this.repository.findMany(query as never, { scope: this.scope() }) as Promise<Page<RepositoryRow<R>>>
  }

  /** The row, or {@link NotFoundError} when it does not exist or the caller may not see it. */
  async get(id: IdOf<RepositoryRow<R>>): Promise<RepositoryRow<R>> {
    const row = await this.repository.findById(id as never, { scope: this.scope() })
    if (!row) throw this.notFound()
    return row as RepositoryRow<R>
  }

  async create(input: Create): Promise<RepositoryRow<R>> {
    const values = await this.beforeCreate(input)
    const row = (await this.repository.create(values as never)) as RepositoryRow<R>
    await this.afterCreate(row)
    return row
  }

  /** Applies a partial change (PATCH). */
  async update(id: IdOf<RepositoryRow<R>>, patch: Update): Promise<RepositoryRow<R>> {
    const existing = await this.get(id)
    const values = await this.beforeUpdate(existing, patch)
    const row = (await this.repository.update(id as never, values as never, { scope: this.scope() })) as RepositoryRow<R> | undefined
    if (!row) throw this.notFound()
    await this.afterUpdate(row, existing)
    return row
  }

  /** Replaces every writable field (PUT); the input is a full create body. */
  async replace(id: IdOf<RepositoryRow<R>>, input: Create): Promise<RepositoryRow<R>> {
    return this.update(id, input as unknown as Update)
  }

  async delete(id: IdOf<RepositoryRow<R>>): Promise<void> {
    const existing = await this.get(id)
    await this.beforeDelete(existing)
    const deleted = await this.repository.delete(id as never, { scope: this.scope() })
    if (!deleted) throw this.notFound()
    await this.afterDelete(existing)
  }
}
