import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
  preHandlerHookHandler,
} from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { provide, type Dependencies } from '../di/provide.js'
import { ProblemSchema } from '../http/problem-details.js'
import { BEARER_AUTH_SCHEME } from '../openapi/security-schemes.js'
import type { BaseService } from '../service/base-service.js'
import type { UnitOfWorkOptions } from '../uow/unit-of-work.js'
import { listQuerySchema, parseListQuery, type ListOptions } from './list-params.js'

/**
 * A service class the router can construct per request (see `provide`).
 *
 * @example
 * ```ts
 * const service: ServiceClass<TaskService> = TaskService
 * ```
 */
export type ServiceClass<S> = (new (...args: any[]) => S) & { readonly inject?: Dependencies<new (...args: any[]) => S> }

/**
 * Route facts shared by generated and custom routes.
 *
 * @example
 * ```ts
 * const options: RouteOptions = { auth: true, status: 202, summary: 'Queue an export', uow: { readOnly: true } }
 * ```
 */
export interface RouteOptions {
  /** Require a valid bearer token (needs fastkit's auth plugin). Defaults to the router's `auth`. */
  readonly auth?: boolean
  /** Extra preHandlers, run after authentication. */
  readonly preHandler?: preHandlerHookHandler | readonly preHandlerHookHandler[]
  /** Success status code. */
  readonly status?: number
  /** Unit-of-work settings for this route: isolation level, read-only, statement timeout. */
  readonly uow?: Pick<UnitOfWorkOptions, 'isolationLevel' | 'readOnly' | 'statementTimeoutMillis'>
  /** OpenAPI summary, description and tags. */
  readonly summary?: string
  readonly description?: string
  readonly tags?: readonly string[]
  /** Leave the route out of the OpenAPI document. */
  readonly hide?: boolean
}

/**
 * The generated CRUD routes; each can be configured or turned off (`false`).
 *
 * @example
 * ```ts
 * const off: Partial<Record<CrudRouteName, false>> = { replace: false, delete: false }
 * ```
 */
export type CrudRouteName = 'create' | 'list' | 'get' | 'update' | 'replace' | 'delete'

/**
 * Options of a {@link BaseRouter}: the PATCH schema, auth, tags, what the list allows, and per-route settings.
 *
 * @example
 * ```ts
 * super(TaskService, '/tasks', TaskCreate, TaskRead, {
 *   auth: true,
 *   list: { filter: ['done'], sort: ['createdAt'], defaultSort: ['-createdAt'], maxLimit: 50 },
 *   routes: { replace: false, delete: { summary: 'Delete a task for good' } },
 * })
 * ```
 */
export interface BaseRouterOptions<Read extends z.ZodObject, Update extends z.ZodType> {
  /** The PATCH body; default: the create schema with every field optional. */
  readonly update?: Update
  /** Default for every route's `auth`. Default false. */
  readonly auth?: boolean
  /** OpenAPI tags for every route; default: the prefix's first segment. */
  readonly tags?: readonly string[]
  /** Filtering, sorting and paging of `GET /`. */
  readonly list?: ListOptions<Extract<keyof z.output<Read>, string>>
  /** Per generated route: options, or `false` to leave it out. */
  readonly routes?: Partial<Record<CrudRouteName, RouteOptions | false>>
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined

/**
 * What a custom route's handler receives: validated input and the request's service.
 *
 * @example
 * ```ts
 * handler: async ({ service, params, body, request }) => service.rename(params.id, body.title, request.ip)
 * ```
 */
export interface RouteContext<S, Body, Query, Params> {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** The router's service, resolved from the request's container. */
  readonly service: S
  readonly body: Output<Body>
  readonly query: Output<Query>
  readonly params: Output<Params>
}

/**
 * A custom route: its schemas type its handler's input and output.
 *
 * @example
 * ```ts
 * this.route({
 *   method: 'POST', url: '/:id/done', params: z.object({ id: z.uuid() }), response: TaskRead,
 *   handler: ({ service, params }) => service.update(params.id, { done: true }),
 * })
 * ```
 */
export interface RouteDefinition<S, Body extends z.ZodType | undefined, Query extends z.ZodType | undefined, Params extends z.ZodType | undefined, Response extends z.ZodType | undefined>
  extends RouteOptions {
  readonly method: HTTPMethods | HTTPMethods[]
  /** Relative to the router's prefix, e.g. `/login` or `/:id/members`. */
  readonly url: string
  readonly body?: Body
  readonly query?: Query
  readonly params?: Params
  /** Schema of the success response: fields not in it never leave the server. */
  readonly response?: Response
  /** Other documented responses by status (e.g. `{ 200: Other }`). */
  readonly responses?: Readonly<Record<number, z.ZodType>>
  /** Content types the body may come in as, for OpenAPI (e.g. form-encoded login). */
  readonly consumes?: readonly string[]
  readonly handler: (
    context: RouteContext<S, Body, Query, Params>,
  ) => Promise<Response extends z.ZodType ? z.input<Response> : unknown> | (Response extends z.ZodType ? z.input<Response> : unknown)
}

const NoContent = z.null().describe('No content')

/**
 * A typed REST resource in a few lines. Give it the service class, a URL prefix and the zod schemas
 * of the create body and of what a client may read; it generates
 *
 * | route           | status | what                                                   |
 * |-----------------|--------|--------------------------------------------------------|
 * | `POST /`        | 201    | create (body: create schema)                           |
 * | `GET /`         | 200    | `{ items, nextCursor, total? }`, keyset-paginated        |
 * | `GET /:id`      | 200    | one item, or 404                                       |
 * | `PATCH /:id`    | 200    | partial update (body: update schema)                   |
 * | `PUT /:id`      | 200    | full replace (body: create schema)                     |
 * | `DELETE /:id`   | 204    |                                                        |
 *
 * Every response goes through the read schema, so a column not in it (a password hash) never leaves.
 * Subclasses add routes of their own by overriding {@link routes} and calling {@link route}, and
 * replace a generated route by turning it off (`routes: { list: false }`) and adding their own.
 *
 * @example
 * ```ts
 * export class MessageRouter extends BaseRouter<MessageService, typeof MessageCreate, typeof MessageRead> {
 *   constructor() {
 *     super(MessageService, '/messages', MessageCreate, MessageRead, {
 *       auth: true,
 *       list: { filter: ['chatId'], sort: ['createdAt'], defaultSort: ['-createdAt'] },
 *       routes: { replace: false },
 *     })
 *   }
 * }
 * await app.register(new MessageRouter().plugin)
 * ```
 */
export abstract class BaseRouter<
  S extends BaseService<any, any, any>,
  Create extends z.ZodObject = z.ZodObject,
  Read extends z.ZodObject = z.ZodObject,
  Update extends z.ZodType = z.ZodType<Partial<z.output<Create>>, Partial<z.input<Create>>>,
> {
  /**
   * Where {@link route} collects while {@link routes} runs; set only during a registration, so that
   * every app (and every prefix in one app) gets the custom routes exactly once.
   */
  #collecting: RouteDefinition<S, any, any, any, any>[] | undefined
  protected readonly update: Update

  constructor(
    protected readonly service: ServiceClass<S>,
    readonly prefix: string,
    protected readonly create: Create,
    protected readonly read: Read,
    protected readonly options: BaseRouterOptions<Read, Update> = {},
  ) {
    this.update = options.update ?? (create.partial() as unknown as Update)
  }

  /**
   * Override to add routes of your own with {@link route}; called on every registration of the router
   * (one instance may be registered into several apps), so keep it free of other side effects.
   */
  protected routes(): void {}

  /** Adds a custom route, typed from its schemas. Call from {@link routes}. */
  protected route<
    Body extends z.ZodType | undefined = undefined,
    Query extends z.ZodType | undefined = undefined,
    Params extends z.ZodType | undefined = undefined,
    Response extends z.ZodType | undefined = undefined,
  >(definition: RouteDefinition<S, Body, Query, Params, Response>): void {
    if (!this.#collecting) throw new Error(`${this.constructor.name}: call route() from routes(), not from elsewhere`)
    this.#collecting.push(definition)
  }

  /** The Fastify plugin to register: `await app.register(router.plugin)`. */
  get plugin(): FastifyPluginAsync {
    const router = this
    const plugin: FastifyPluginAsync = async (app) => {
      // Without the core plugin there is no container to build services in; say so instead of
      // failing deep inside the DI code.
      if (!app.hasDecorator('container')) {
        throw new Error(
          `${router.constructor.name}: register the fastkit plugin before the router: ` +
            `await app.register(fastkit, { db }); await app.register(new ${router.constructor.name}().plugin)`,
        )
      }
      provide(app.container, router.service as never)
      await app.register(async (scoped) => router.#register(scoped), { prefix: router.prefix })
    }
    return plugin
  }

  #register(app: FastifyInstance): void {
    const custom: RouteDefinition<S, any, any, any, any>[] = (this.#collecting = [])
    try {
      this.routes()
    } finally {
      this.#collecting = undefined
    }
    for (const route of [...this.#crudRoutes(), ...custom]) this.#add(app, route)
  }

  #crudRoutes(): RouteDefinition<S, any, any, any, any>[] {
    const read = this.read
    const idSchema = (read.shape as Record<string, z.ZodType>).id ?? z.string()
    const IdParams = z.object({ id: idSchema })
    const listOptions = this.options.list ?? {}
    const Page = z.object({
      items: z.array(read),
      nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
      total: z.number().int().optional().describe('Only with count=true'),
    })
    const name = this.#resourceName()
    const defs: Record<CrudRouteName, RouteDefinition<S, any, any, any, any>> = {
      create: {
        method: 'POST',
        url: '/',
        status: 201,
        summary: `Create a ${name}`,
        body: this.create,
        response: read,
        handler: ({ service, body }) => service.create(body),
      },
      list: {
        method: 'GET',
        url: '/',
        summary: `List ${name}s`,
        query: listQuerySchema(read, listOptions),
        response: Page,
        handler: ({ service, query }) => service.list(parseListQuery(query as Record<string, unknown>, read, listOptions)),
      },
      get: {
        method: 'GET',
        url: '/:id',
        summary: `Get a ${name}`,
        params: IdParams,
        response: read,
        handler: ({ service, params }) => service.get(params.id as never),
      },
      update: {
        method: 'PATCH',
        url: '/:id',
        summary: `Change some fields of a ${name}`,
        params: IdParams,
        body: this.update,
        response: read,
        handler: ({ service, params, body }) => service.update(params.id as never, body),
      },
      replace: {
        method: 'PUT',
        url: '/:id',
        summary: `Replace a ${name}`,
        params: IdParams,
        body: this.create,
        response: read,
        handler: ({ service, params, body }) => service.replace(params.id as never, body),
      },
      delete: {
        method: 'DELETE',
        url: '/:id',
        status: 204,
        summary: `Delete a ${name}`,
        params: IdParams,
        response: NoContent,
        handler: async ({ service, params }) => {
          await service.delete(params.id as never)
          return null
        },
      },
    }
    const out: RouteDefinition<S, any, any, any, any>[] = []
    for (const [key, def] of Object.entries(defs) as [CrudRouteName, RouteDefinition<S, any, any, any, any>][]) {
      const override = this.options.routes?.[key]
      if (override === false) continue
      out.push({ ...def, ...override })
    }
    return out
  }

  #resourceName(): string {
    return this.prefix.split('/').filter(Boolean)[0]?.replace(/s$/, '') ?? 'resource'
  }

  #add(app: FastifyInstance, def: RouteDefinition<S, any, any, any, any>): void {
    const auth = def.auth ?? this.options.auth ?? false
    const status = def.status ?? 200
    const preHandler: preHandlerHookHandler[] = []
    if (auth) {
      if (typeof app.authenticate !== 'function') {
        throw new Error(`${this.constructor.name}: route ${def.url} needs auth; register fastkit's auth plugin before the router`)
      }
      preHandler.push(app.authenticate)
    }
    if (def.preHandler) preHandler.push(...(Array.isArray(def.preHandler) ? def.preHandler : [def.preHandler as preHandlerHookHandler]))

    const response: Record<string, unknown> = { [status]: def.response ?? z.unknown() }
    for (const [code, schema] of Object.entries(def.responses ?? {})) response[code] = schema
    response['4XX'] = ProblemSchema
    const tags = def.tags ?? this.options.tags ?? [this.prefix.split('/').filter(Boolean)[0] ?? 'default']
    const service = this.service

    app.withTypeProvider<ZodTypeProvider>().route({
      method: def.method,
      url: def.url === '/' ? '' : def.url,
      ...(preHandler.length ? { preHandler } : {}),
      config: { uow: def.uow },
      schema: {
        ...(def.body ? { body: def.body } : {}),
        ...(def.query ? { querystring: def.query } : {}),
        ...(def.params ? { params: def.params } : {}),
        response,
        tags: [...tags],
        ...(def.summary ? { summary: def.summary } : {}),
        ...(def.description ? { description: def.description } : {}),
        ...(def.consumes ? { consumes: [...def.consumes] } : {}),
        ...(auth ? { security: [{ [BEARER_AUTH_SCHEME]: [] }] } : {}),
        ...(def.hide ? { hide: true } : {}),
      } as never,
      handler: async (request, reply) => {
        const result = await def.handler({
          request,
          reply,
          get service() {
            return request.container.resolve(service as never) as S
          },
          body: request.body as never,
          query: request.query as never,
          params: request.params as never,
        })
        if (reply.sent) return reply
        reply.code(reply.statusCode !== 200 ? reply.statusCode : status)
        return status === 204 ? reply.send() : result
      },
    })
  }
}
