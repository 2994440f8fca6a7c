import 'reflect-metadata'
import { instanceCachingFactory, instancePerContainerCachingFactory, type DependencyContainer } from 'tsyringe'
import type { InjectionKey, Resolved } from './token.js'

/** The keys a class lists in `static inject`, one per constructor parameter, in order. */
export type Dependencies<C extends abstract new (...args: any) => any> = {
  readonly [K in keyof ConstructorParameters<C>]: InjectionKey<ConstructorParameters<C>[K]>
}

/**
 * A class fastkit can construct: it lists its constructor's dependencies in a static `inject` array,
 * checked against the constructor's parameter types. This is fastkit's whole DI convention: no
 * decorators and no emitted metadata, so it works the same under tsc, vitest, tsx and esbuild.
 *
 * @example
 * ```ts
 * class MessageService extends BaseService<MessageRepository> {
 *   static readonly inject = [MessageRepository, CurrentUser] as const
 *   constructor(messages: MessageRepository, private readonly user: AuthUser) { super(messages) }
 * }
 * ```
 */
export type Injectable<C extends abstract new (...args: any) => any = abstract new (...args: any) => any> = C & {
  readonly inject?: Dependencies<C>
}

/** When one instance is made: once per request container (default) or once per app. */
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
 * provide(app.container, MessageService)
 * const service = request.container.resolve(MessageService)
 * ```
 */
export function provide<C extends new (...args: any) => any>(
  container: DependencyContainer,
  ctor: C & { readonly inject?: Dependencies<C> },
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
  const build = (c: DependencyContainer) => new ctor(...deps.map((dep) => c.resolve(dep as never)))
  container.register(ctor, {
    useFactory: options.lifetime === 'singleton' ? instanceCachingFactory(build) : instancePerContainerCachingFactory(build),
  })
}

/** Typed `container.resolve` for a {@link Token} or class. */
export function resolve<K extends InjectionKey<any>>(container: DependencyContainer, key: K): Resolved<K> {
  return container.resolve(key as never)
}
