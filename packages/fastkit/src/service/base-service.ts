import type { Insertable, Selectable, Updateable } from 'kysely'
import { NotFoundError } from '../http/errors.js'
import type { BaseRepository, Scope } from '../repository/base-repository.js'
import type { IdOf, ListQuery, Page } from '../repository/list-query.js'

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

type Awaitable<T> = T | Promise<T>
type Row<R> = RepositoryRow<R>
type Id<R> = IdOf<RepositoryRow<R>>

/**
 * Hooks of a create operation. `before` checks the input and returns a context (any value: locked rows,
 * ids to notify…) that `values` and `after` receive, typed; `values` turns input and context into the
 * row's values; `after` runs once the row exists, in the same transaction.
 *
 * @example
 * ```ts
 * const hooks: CreateHooks<{ title: string }, { ownerId: string }, RepositoryInsert<TaskRepository>, Task> = {
 *   before: () => ({ ownerId: 'u1' }),
 *   values: (input, { ownerId }) => ({ title: input.title, ownerId }),
 * }
 * ```
 */
export interface CreateHooks<Input, Ctx, Values, Row> {
  readonly before?: (input: Input) => Awaitable<Ctx>
  readonly values: (input: Input, context: Ctx) => Awaitable<Values>
  readonly after?: (row: Row, context: Ctx) => Awaitable<unknown>
}

/**
 * Hooks of an update (PATCH) or replace (PUT) operation: like {@link CreateHooks}, with the row as it
 * was before the change (`existing`), already checked to exist and be visible.
 *
 * @example
 * ```ts
 * const hooks: UpdateHooks<Task, { title?: string }, void, RepositoryUpdate<TaskRepository>> = {
 *   values: (_existing, patch) => ({ title: patch.title }),
 *   after: (task, _context, previous) => console.log(previous.title, '→', task.title),
 * }
 * ```
 */
export interface UpdateHooks<Row, Patch, Ctx, Values> {
  readonly before?: (existing: Row, patch: Patch) => Awaitable<Ctx>
  readonly values: (existing: Row, patch: Patch, context: Ctx) => Awaitable<Values>
  readonly after?: (row: Row, context: Ctx, previous: Row) => Awaitable<unknown>
}

/**
 * Hooks of a delete operation: `before` sees the row (throw `ForbiddenError` to refuse) and returns a
 * context for `after`, which runs once the row is gone.
 *
 * @example
 * ```ts
 * const hooks: DeleteHooks<Message, { chatId: string }> = {
 *   before: (message) => {
 *     if (message.senderId !== user.id) throw new ForbiddenError('Only its sender can delete a message')
 *     return { chatId: message.chatId }
 *   },
 *   after: (message, { chatId }) => console.log('deleted', message.id, 'from chat', chatId),
 * }
 * ```
 */
export interface DeleteHooks<Row, Ctx> {
  readonly before?: (existing: Row) => Awaitable<Ctx>
  readonly after?: (row: Row, context: Ctx) => Awaitable<unknown>
}

/**
 * The builders behind a service's operations (`this.crud` in a {@link BaseService}). Each returns a plain
 * function to assign to a public field; a service has exactly the operations it declares.
 *
 * `create`/`update`/`replace` need a `values` hook exactly when their input type is not assignable to
 * the table's insert (update) type, so a NOT NULL column without a default that nothing supplies is a
 * compile error where the operation is declared.
 *
 * @example
 * ```ts
 * class TaskService extends BaseService<TaskRepository> {
 *   static readonly inject = [TaskRepository] as const
 *   readonly list = this.crud.list()
 *   readonly get = this.crud.get()
 *   readonly create = this.crud.create({ values: (input: { title: string }) => ({ title: input.title, done: false }) })
 * }
 * ```
 */
export interface CrudBuilder<R> {
  /** `(query?) => Promise<Page<Row>>`: a page of the rows the scope shows. */
  list(): (query?: ListQuery<Row<R>>) => Promise<Page<Row<R>>>
  /** `(id) => Promise<Row>`: the row, or the service's `notFound()` (also when the scope hides it). */
  get(): (id: Id<R>) => Promise<Row<R>>
  /** `(input) => Promise<Row>`: inserts what `values` makes of the input. */
  create<Input, Ctx = undefined>(hooks: CreateHooks<Input, Ctx, RepositoryInsert<R>, Row<R>>): (input: Input) => Promise<Row<R>>
  /** `(input) => Promise<Row>`: inserts the input as it is (it fits the table's insert type). */
  create<Input extends RepositoryInsert<R> = RepositoryInsert<R>, Ctx = undefined>(hooks?: {
    readonly before?: (input: Input) => Awaitable<Ctx>
    readonly after?: (row: Row<R>, context: Ctx) => Awaitable<unknown>
  }): (input: Input) => Promise<Row<R>>
  /** `(id, patch) => Promise<Row>`: changes what `values` makes of the patch (PATCH). */
  update<Patch, Ctx = undefined>(hooks: UpdateHooks<Row<R>, Patch, Ctx, RepositoryUpdate<R>>): (id: Id<R>, patch: Patch) => Promise<Row<R>>
  /** `(id, patch) => Promise<Row>`: changes the given fields (PATCH). */
  update<Patch extends RepositoryUpdate<R> = RepositoryUpdate<R>, Ctx = undefined>(hooks?: {
    readonly before?: (existing: Row<R>, patch: Patch) => Awaitable<Ctx>
    readonly after?: (row: Row<R>, context: Ctx, previous: Row<R>) => Awaitable<unknown>
  }): (id: Id<R>, patch: Patch) => Promise<Row<R>>
  /** `(id, input) => Promise<Row>`: writes what `values` makes of a full body (PUT). */
  replace<Input, Ctx = undefined>(hooks: UpdateHooks<Row<R>, Input, Ctx, RepositoryUpdate<R>>): (id: Id<R>, input: Input) => Promise<Row<R>>
  /** `(id, input) => Promise<Row>`: writes every field of a full body (PUT); the same hooks as update. */
  replace<Input extends RepositoryUpdate<R> = RepositoryInsert<R> & RepositoryUpdate<R>, Ctx = undefined>(hooks?: {
    readonly before?: (existing: Row<R>, input: Input) => Awaitable<Ctx>
    readonly after?: (row: Row<R>, context: Ctx, previous: Row<R>) => Awaitable<unknown>
  }): (id: Id<R>, input: Input) => Promise<Row<R>>
  /** `(id) => Promise<void>`: deletes the row, or the service's `notFound()`. */
  delete<Ctx = undefined>(hooks?: DeleteHooks<Row<R>, Ctx>): (id: Id<R>) => Promise<void>
}

type ScopeOf<R extends BaseRepository<any, any>> = { readonly scope: Scope<DbOf<R>, TableOf<R>> | undefined }

/** The repository as the generated operations call it: in the row type of `R`, ids and values unchecked. */
interface RowRepository<R extends BaseRepository<any, any>> {
  findById(id: unknown, options: ScopeOf<R>): Promise<Row<R> | undefined>
  findMany(query: ListQuery<Row<R>>, options: ScopeOf<R>): Promise<Page<Row<R>>>
  create(values: unknown): Promise<Row<R>>
  update(id: unknown, values: unknown, options: ScopeOf<R>): Promise<Row<R> | undefined>
  delete(id: unknown, options: ScopeOf<R>): Promise<boolean>
}

/** Hooks as the implementation sees them: every overload in one shape. */
interface AnyHooks {
  readonly before?: (...args: any[]) => unknown
  readonly values?: (...args: any[]) => unknown
  readonly after?: (...args: any[]) => unknown
}

/**
 * Business rules over one repository. A service exposes only what it declares: its own methods, and the
 * generated operations it opts into by assigning `this.crud.<op>(hooks)` to a public field. Every
 * generated operation applies the overridable {@link scope} (one row-visibility rule, enforced
 * everywhere) and raises {@link notFound} for a row that is missing or hidden.
 *
 * @example
 * ```ts
 * import type { FastifyBaseLogger } from 'fastify'
 *
 * export class MessageService extends BaseService<MessageRepository> {
 *   static readonly inject = [MessageRepository, CurrentUser, Logger] as const
 *   constructor(messages: MessageRepository, private readonly user: AuthUser, private readonly log: FastifyBaseLogger) {
 *     super(messages)
 *   }
 *
 *   // Only members of the message's chat see it: applied to every operation below.
 *   protected override scope(): Scope<DB, 'messages'> {
 *     return (eb) => eb.exists(eb.selectFrom('chat_members').whereRef('chat_members.chatId', '=', 'messages.chatId')
 *       .where('chat_members.userId', '=', this.user.id).select('chat_members.userId'))
 *   }
 *
 *   readonly get = this.crud.get()
 *   readonly create = this.crud.create({
 *     // senderId is NOT NULL and not in the input: without `values` this would not compile
 *     values: (input: { chatId: string; text: string }) => ({ ...input, senderId: this.user.id }),
 *   })
 *   readonly update = this.crud.update({
 *     // checks first; what `before` returns reaches `values` and `after`, typed
 *     before: (existing, patch: { text: string }) => {
 *       if (existing.senderId !== this.user.id) throw new ForbiddenError('Only its sender can edit a message')
 *       return { changed: patch.text !== existing.text }
 *     },
 *     after: (message, { changed }) => {
 *       if (changed) this.log.info({ messageId: message.id }, 'message edited')
 *     },
 *   })
 *   readonly delete = this.crud.delete()
 * }
 * ```
 */
export abstract class BaseService<R extends BaseRepository<any, any>> {
  constructor(protected readonly repository: R) {}

  /** The visibility rule for this service's rows; `undefined` (the default) shows every row. */
  protected scope(): Scope<DbOf<R>, TableOf<R>> | undefined {
    return undefined
  }

  /** What "not found" says. Override for a resource name: `new NotFoundError('Chat not found')`. */
  protected notFound(): NotFoundError {
    return new NotFoundError(`${this.constructor.name.replace(/Service$/, '') || 'Resource'} not found`)
  }

  /**
   * Builds the generated operations (see {@link CrudBuilder}). Safe in field initialisers: nothing of
   * the subclass is read until an operation runs.
   */
  protected get crud(): CrudBuilder<R> {
    // Built once per service instance (a request's services declare several operations from it).
    return (this.#crud ??= this.#buildCrud())
  }

  #crud: CrudBuilder<R> | undefined

  #buildCrud(): CrudBuilder<R> {
    // The one double cast of the spine (SPINE.md allows 3): `R` is a BaseRepository<DbOf<R>, TableOf<R>>, whose methods take and
    // return exactly these types, but TypeScript cannot resolve a generic R's method types. The ids and
    // values are unchecked here; CrudBuilder's signatures check them where a service declares its ops.
    const repository = this.repository as unknown as RowRepository<R>
    const found = async (id: unknown): Promise<Row<R>> => {
      const row = await repository.findById(id, { scope: this.scope() })
      if (!row) throw this.notFound()
      return row
    }
    const change = (hooks: AnyHooks = {}) =>
      async (id: unknown, patch: unknown): Promise<Row<R>> => {
        const existing = await found(id)
        const context = await hooks.before?.(existing, patch)
        const values = hooks.values ? await hooks.values(existing, patch, context) : patch
        const row = await repository.update(id, values, { scope: this.scope() })
        if (!row) throw this.notFound()
        await hooks.after?.(row, context, existing)
        return row
      }
    const builder = {
      list: () => (query: ListQuery<Row<R>> = {}) => repository.findMany(query, { scope: this.scope() }),
      get: () => found,
      create: (hooks: AnyHooks = {}) => async (input: unknown): Promise<Row<R>> => {
        const context = await hooks.before?.(input)
        const values = hooks.values ? await hooks.values(input, context) : input
        const row = await repository.create(values)
        await hooks.after?.(row, context)
        return row
      },
      update: change,
      replace: change,
      delete: (hooks: AnyHooks = {}) => async (id: unknown): Promise<void> => {
        const existing = await found(id)
        const context = await hooks.before?.(existing)
        if (!(await repository.delete(id, { scope: this.scope() }))) throw this.notFound()
        await hooks.after?.(existing, context)
      },
    }
    return builder
  }
}
