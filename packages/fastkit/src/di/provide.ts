import 'reflect-metadata'
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe'
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
  // A singleton is built from the container it was registered in, never from the first request's
  // child: otherwise it would capture that request's unit of work (or fail later, confusingly).
  const factory = options.lifetime === 'singleton' ? instanceCachingFactory(() => build(container)) : oncePerContainer(ctor, build)
  ownFactories.add(factory)
  container.register(ctor, { useFactory: factory })
}

/** The factories {@link provide} registered: {@link resolve} calls them directly. */
const ownFactories = new WeakSet<Function>()

/** What {@link provide} keeps per container: the instances it built there, and the disposable ones. */
interface Built {
  readonly instances: Map<Function, unknown>
  disposables: Disposable[] | undefined
}

const BUILT = Symbol('fastkit.built')
type WithBuilt = DependencyContainer & { [BUILT]?: Built }

function builtIn(container: DependencyContainer): Built {
  return ((container as WithBuilt)[BUILT] ??= { instances: new Map(), disposables: undefined })
}

/**
 * Builds `ctor` at most once per container. The instances live on the container itself (one Map per
 * request), not in one WeakMap per class as tsyringe's `instancePerContainerCachingFactory` keeps
 * them: a WeakMap entry per class and request is work for every garbage collection.
 */
function oncePerContainer(ctor: Function, build: (c: DependencyContainer) => unknown): (c: DependencyContainer) => unknown {
  return (c) => {
    const { instances } = builtIn(c)
    let instance = instances.get(ctor)
    if (instance === undefined) {
      instance = build(c)
      instances.set(ctor, instance)
    }
    return instance
  }
}

/**
 * The parts of tsyringe 4's container that {@link resolve} reads (never writes). Anything else, or
 * another shape, falls back to tsyringe's own `resolve`.
 */
interface ContainerInternals {
  readonly _registry?: { readonly _registryMap?: unknown }
  readonly interceptors?: { readonly preResolution?: { readonly _registryMap?: unknown }; readonly postResolution?: { readonly _registryMap?: unknown } }
  readonly parent?: ContainerInternals
  readonly disposed?: boolean
}
type Registration = { readonly provider: { readonly useValue?: unknown; readonly useFactory?: (c: DependencyContainer) => unknown } }

/**
 * `container.resolve(key)`, answered directly when the registration that tsyringe would use is a value
 * or one of {@link provide}'s factories (every key a request resolves, in practice), else by tsyringe.
 *
 * Why: each `resolve` on a request's child container, for a key registered in the root, makes tsyringe
 * add an empty entry for that key to three maps of the child (its registry, and its pre- and
 * post-resolution interceptors), besides a resolution context: about 14 µs and as much again in
 * garbage collection per `GET /auth/me` of the chat. This lookup walks the same chain and
 * picks the same registration (the last one of the nearest container that has any), without writing.
 * Containers with resolution interceptors, disposed containers and every other kind of registration
 * go through tsyringe, unchanged.
 */
function resolveKey(container: DependencyContainer, key: unknown): unknown {
  const c = container as unknown as ContainerInternals
  const pre = c.interceptors?.preResolution?._registryMap
  const post = c.interceptors?.postResolution?._registryMap
  if (!c.disposed && pre instanceof Map && post instanceof Map && pre.size === 0 && post.size === 0) {
    for (let level: ContainerInternals | undefined = c; level; level = level.parent) {
      const map = level._registry?._registryMap
      if (!(map instanceof Map)) break
      const list = map.get(key) as readonly Registration[] | undefined
      if (!list || list.length === 0) continue
      const { provider } = list[list.length - 1]!
      if ('useValue' in provider) return provider.useValue
      if (provider.useFactory && ownFactories.has(provider.useFactory)) return provider.useFactory(container)
      break
    }
  }
  return container.resolve(key as never)
}

function resolveDependency(c: DependencyContainer, ctor: Function, dep: InjectionKey<unknown>, index: number): unknown {
  try {
    return resolveKey(c, dep)
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
function trackDisposable(container: DependencyContainer, instance: Disposable): void {
  ;(builtIn(container).disposables ??= []).push(instance)
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
    await markDisposed(container)
  }
}

/**
 * The second half of {@link disposeContainer}: tsyringe's own `container.dispose()`, which marks the
 * container disposed (a later `resolve` or `register` throws) and disposes what tsyringe itself built
 * in it. When it built nothing there (fastkit's instances are {@link provide}'s, see
 * {@link disposeBuilt}), the mark is set directly and undefined returned: tsyringe's `dispose` is an
 * async function compiled to a generator (tslib's `__awaiter`), which cost every request 3.5–4 µs
 * (more under load) for nothing. A container of another shape than tsyringe 4's goes through
 * `dispose()`.
 */
export function markDisposed(container: DependencyContainer): Promise<void> | undefined {
  const internals = container as { disposed?: unknown; disposables?: unknown }
  if (typeof internals.disposed === 'boolean' && internals.disposables instanceof Set && internals.disposables.size === 0) {
    ;(internals as { disposed: boolean }).disposed = true
    return undefined
  }
  return container.dispose() as Promise<void> | undefined
}

/**
 * The first half of {@link disposeContainer}: disposes what {@link provide} built in `container`, or
 * returns undefined at once when it built nothing disposable (the usual request), so that the
 * request scope's ending costs no promise. The caller then disposes the container itself.
 */
export function disposeBuilt(container: DependencyContainer): Promise<void> | undefined {
  const built = (container as WithBuilt)[BUILT]
  const list = built?.disposables
  if (!list) return undefined
  built.disposables = undefined
  return disposeAll(list)
}

async function disposeAll(list: Disposable[]): Promise<void> {
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
  return resolveKey(container, key) as Resolved<K>
}
