import 'reflect-metadata'
import { instanceCachingFactory, instancePerContainerCachingFactory, type DependencyContainer } from 'tsyringe'
import type { InjectionKey, Resolved } from './token.js'

/**
 * The keys a class lists in `static inject`, one per constructor parameter, in order.
 *
 * @example
 * ```ts
 * const deps: Dependencies<typeof TaskService> = [TaskRepository, Logger] // checked against the constructor
 * ```
 */
export type Dependencies<C extends abstract new (...args: any) => any> = KeysOf<ConstructorParameters<C>>

/**
 * Maps a parameter tuple to a tuple of keys. It must map over a type *parameter*: only then does
 * TypeScript map a tuple to a tuple (mapping `keyof ConstructorParameters<C>` directly also maps
 * `length`, `push`… and no `inject` list could ever match).
 */
type KeysOf<P> = { readonly [K in keyof P]: InjectionKey<P[K]> }

/**
 * `static inject` as {@link provide} requires it: mandatory once the constructor takes arguments, so a
 * class that forgets it fails to compile instead of being built with `undefined`s. This is fastkit's
 * whole DI convention: no decorators and no emitted metadata, so it works the same under tsc, vitest,
 * tsx and esbuild.
 */
export type InjectList<C extends abstract new (...args: any) => any> = [] extends ConstructorParameters<C>
  ? { readonly inject?: Dependencies<C> }
  : { readonly inject: Dependencies<C> }

/**
 * When one instance is made: once per request container (default) or once per app.
 *
 * @example
 * ```ts
 * class PriceCache {
 *   readonly prices = new Map<string, number>()
 * }
 * provide(app.container, PriceCache, { lifetime: 'singleton' })
 * ```
 */
export type Lifetime = 'request' | 'singleton'

const registered = new WeakMap<DependencyContainer, WeakSet<object>>()

/**
 * Registers `ctor` in `container` (the app's root container) so it is built from its `static inject`
 * list, once per request container (or once per app with `lifetime: 'singleton'`). Dependencies that
 * are themselves classes with `static inject` are registered too, so registering a router's service
 * registers its repositories. Registering the same class twice is a no-op.
 *
 * @example
 * ```ts
 * provide(app.container, TaskService) // and TaskRepository with it
 * const service = resolve(request.container, TaskService)
 * ```
 */
export function provide<C extends new (...args: any) => any>(
  container: DependencyContainer,
  ctor: C & InjectList<C>,
  options: { lifetime?: Lifetime } = {},
): void {
  let seen = registered.get(container)
  if (!seen) registered.set(container, (seen = new WeakSet()))
  if (seen.has(ctor) || container.isRegistered(ctor, false)) return
  seen.add(ctor)
  const deps = (ctor.inject ?? []) as readonly InjectionKey<unknown>[]
  if (deps.length < ctor.length) {
    throw new TypeError(
      `${ctor.name} takes ${ctor.length} constructor argument(s) but lists ${deps.length} in \`static inject\``,
    )
  }
  for (const dep of deps) {
    if (typeof dep === 'function' && 'inject' in dep) provide(container, dep as never, options)
  }
  const build = (c: DependencyContainer) => {
    const instance = new ctor(...deps.map((dep, index) => resolveDependency(c, ctor, dep, index)))
    if (isDisposable(instance)) trackDisposable(c, instance)
    return instance
  }
  container.register(ctor, {
    // A singleton is built from the container it was registered in, never from the first request's
    // child: otherwise it would capture that request's unit of work (or fail later, confusingly).
    useFactory:
      options.lifetime === 'singleton' ? instanceCachingFactory(() => build(container)) : instancePerContainerCachingFactory(build),
  })
}

function resolveDependency(c: DependencyContainer, ctor: Function, dep: InjectionKey<unknown>, index: number): unknown {
  try {
    return c.resolve(dep as never)
  } catch (error) {
    const name = typeof dep === 'function' ? dep.name : dep.toString()
    const reason = (error as Error).message
    const hint =
      /unregistered dependency|TypeInfo not known/.test(reason) && !reason.includes('Register it')
        ? ' Register it with provide(app.container, …) or container.register(…); request-scoped keys such as UnitOfWork exist only in request.container.'
        : ''
    throw new Error(`Cannot build ${ctor.name}: its dependency #${index + 1} (${name}) could not be resolved: ${reason}${hint}`, {
      cause: error,
    })
  }
}

interface Disposable {
  dispose(): unknown
}

function isDisposable(value: unknown): value is Disposable {
  return typeof (value as Partial<Disposable> | null)?.dispose === 'function'
}

/**
 * tsyringe's `container.dispose()` only disposes instances it constructed itself, never those made by a
 * factory, which is how {@link provide} builds everything. So fastkit keeps its own list per container.
 */
const disposables = new WeakMap<DependencyContainer, Disposable[]>()

function trackDisposable(container: DependencyContainer, instance: Disposable): void {
  let list = disposables.get(container)
  if (!list) disposables.set(container, (list = []))
  list.push(instance)
}

/**
 * Disposes what {@link provide} built in `container` (newest first, so a service goes before the
 * repository it uses), then the container itself. The request scope calls it when a request ends.
 *
 * @example
 * ```ts
 * class ImportJob {
 *   static readonly inject = [Database] as const
 *   constructor(private readonly db: Kysely<DB>) {}
 *   async run(): Promise<void> {
 *     // … work with this.db
 *   }
 * }
 * provide(app.container, ImportJob)
 * const scope = app.container.createChildContainer()
 * try { await resolve(scope, ImportJob).run() } finally { await disposeContainer(scope) }
 * ```
 */
export async function disposeContainer(container: DependencyContainer): Promise<void> {
  try {
    await disposeBuilt(container)
  } finally {
    await container.dispose()
  }
}

/**
 * The first half of {@link disposeContainer}: disposes what {@link provide} built in `container`, or
 * returns undefined at once when it built nothing disposable (the usual request), so that the
 * request scope's ending costs no promise. The caller then disposes the container itself.
 */
export function disposeBuilt(container: DependencyContainer): Promise<void> | undefined {
  const list = disposables.get(container)
  return list && disposeAll(container, list)
}

async function disposeAll(container: DependencyContainer, list: Disposable[]): Promise<void> {
  disposables.delete(container)
  const errors: unknown[] = []
  for (const instance of list.reverse()) {
    try {
      await instance.dispose()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, 'Several disposables failed')
}

/**
 * Typed `container.resolve` for a {@link Token} or class.
 *
 * @example
 * ```ts
 * const config = resolve(app.container, Config) // AppConfig
 * const tasks = resolve(request.container, TaskService)
 * ```
 */
export function resolve<K extends InjectionKey<any>>(container: DependencyContainer, key: K): Resolved<K> {
  return container.resolve(key as never)
}
