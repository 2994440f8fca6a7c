declare const tokenType: unique symbol

/**
 * A typed injection token: a symbol that remembers the type it stands for, so `resolve(token)` is
 * typed without decorators or emitted metadata.
 *
 * @example
 * ```ts
 * interface AppConfig { readonly jwtSecret: string }
 * export const Config = token<AppConfig>('Config')
 * app.container.register(Config, { useValue: { jwtSecret: process.env.JWT_SECRET! } })
 * const config = resolve(app.container, Config) // AppConfig
 * ```
 */
export type Token<T> = symbol & { readonly [tokenType]?: T }

/**
 * Creates a {@link Token}. The name only appears in error messages.
 *
 * @example
 * ```ts
 * export const Clock = token<() => Date>('Clock')
 * app.container.register(Clock, { useValue: () => new Date() })
 * class TaskClock {
 *   static readonly inject = [TaskRepository, Clock] as const
 *   constructor(private readonly tasks: TaskRepository, private readonly now: () => Date) {}
 * }
 * ```
 */
export function token<T>(name: string): Token<T> {
  return Symbol(name) as Token<T>
}

/**
 * Anything fastkit can resolve: a class, or a {@link Token}.
 *
 * @example
 * ```ts
 * const keys: InjectionKey<unknown>[] = [TaskRepository, Config]
 * ```
 */
export type InjectionKey<T> = Token<T> | (abstract new (...args: any[]) => T)

/**
 * The type an {@link InjectionKey} resolves to.
 *
 * @example
 * ```ts
 * type C = Resolved<typeof Config>        // AppConfig
 * type R = Resolved<typeof TaskRepository> // TaskRepository
 * ```
 */
export type Resolved<K> = K extends Token<infer T> ? T : K extends abstract new (...args: any[]) => infer T ? T : never
