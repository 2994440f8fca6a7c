import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  HTTPMethods,
  preHandlerHookHandler,
} from 'fastify'
import { z } from 'zod'
import { provide, type InjectList } from '../di/provide.js'
import { ProblemSchema } from '../http/problem-details.js'
import { BEARER_AUTH_SCHEME } from '../openapi/security-schemes.js'
import type { BaseService } from '../service/base-service.js'
import type { ListQuery, Page } from '../repository/list-query.js'
import type { UnitOfWorkOptions } from '../uow/unit-of-work.js'
import { listQuerySchema, parseListQuery, type ListOptions } from './list-params.js'
import { pageSchema } from './page-schema.js'
import { HandlerContext } from './handler-context.js'

/**
 * A service class the router can construct per request. `BaseRouter` checks its `static inject` list
 * against its constructor (see `InjectList`) where the class is handed to `super(…)`.
 *
 * @example
 * ```ts
 * const service: ServiceClass = TaskService
 * ```
 */
export type ServiceClass = new (...args: any[]) => BaseService<any>

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
  /** Unit-of-work settings for this route: isolation level, read-only, statement timeout, single write. */
  readonly uow?: Pick<UnitOfWorkOptions, 'isolationLevel' | 'readOnly' | 'statementTimeoutMs' | 'singleWrite'>
  /** OpenAPI summary, description and tags. */
  readonly summary?: string
  readonly description?: string
  readonly tags?: readonly string[]
  /** Leave the route out of the OpenAPI document. */
  readonly hide?: boolean
}

/**
 * The routes `crud()` can generate.
 *
 * | route         | name      | status | service operation                  |
 * |---------------|-----------|--------|------------------------------------|
 * | `GET /`       | `list`    | 200    | `list(query)` → `Page<Row>`        |
 * | `GET /:id`    | `get`     | 200    | `get(id)` → `Row`                  |
 * | `POST /`      | `create`  | 201    | `create(body)` → `Row`             |
 * | `PATCH /:id`  | `update`  | 200    | `update(id, body)` → `Row`         |
 * | `PUT /:id`    | `replace` | 200    | `replace(id, body)` → `Row`        |
 * | `DELETE /:id` | `delete`  | 204    | `delete(id)`                       |
 *
 * @example
 * ```ts
 * const served: CrudRouteName[] = ['list', 'get']
 * ```
 */
export type CrudRouteName = 'create' | 'list' | 'get' | 'update' | 'replace' | 'delete'

/**
 * Options of a {@link BaseRouter}: defaults for its routes.
 *
 * @example
 * ```ts
 * class TaskRouter extends BaseRouter<typeof TaskService> {
 *   constructor() {
 *     super(TaskService, '/tasks', { auth: true, tags: ['tasks'] })
 *   }
 * }
 * ```
 */
export interface BaseRouterOptions {
  /** Default for every route's `auth`. Default false. */
  readonly auth?: boolean
  /** OpenAPI tags for every route; default: the prefix's first segment. */
  readonly tags?: readonly string[]
}

/** The operation `K` of a service, or `undefined` when it declares none. */
type Op<Svc, K extends CrudRouteName> = K extends keyof Svc ? Svc[K] : undefined
/** What a route that does not fit its service resolves to: the reason, as the compile error shows it. */
type NoOperation<K extends CrudRouteName> = `the service declares no ${K} operation that fits this route`
type RowMismatch<K extends CrudRouteName> = `the rows of the service's ${K} operation do not fit the read schema`
type BodyMismatch<K extends CrudRouteName> = `this body schema's output is not what the service's ${K} operation takes`
/** The id a generated route passes: the output of the read schema's `id`. */
type RouteId<Read extends z.ZodObject> = Read['shape'] extends { id: infer I extends z.ZodType } ? z.output<I> : string
/** `Then` when the service's rows fit the read schema's input. */
type IfRowFits<Row, Read extends z.ZodObject, K extends CrudRouteName, Then> = [Row] extends [z.input<Read>] ? Then : RowMismatch<K>

/**
 * A generated list route: `true`, or what its clients may filter and sort on plus route options.
 *
 * @example
 * ```ts
 * const list: ListRoute<'createdAt' | 'name'> = { sort: ['createdAt', 'name'], defaultSort: ['-createdAt'], summary: 'Your tasks' }
 * ```
 */
export type ListRoute<Field extends string = string> = true | (RouteOptions & ListOptions<Field>)

/**
 * A generated route with a body: its schema plus route options.
 *
 * @example
 * ```ts
 * const create: BodyRoute<typeof TaskCreate> = { body: TaskCreate, status: 201, summary: 'Add a task' }
 * ```
 */
export type BodyRoute<Body> = RouteOptions & { readonly body: Body }

type BodyRouteOf<Svc, K extends 'create' | 'update' | 'replace', Read extends z.ZodObject, Body extends z.ZodType> =
  Op<Svc, K> extends (...args: infer A) => Promise<infer Row>
    ? A extends (K extends 'create' ? [infer Input] : [RouteId<Read>, infer Input])
      ? IfRowFits<Row, Read, K, BodyRoute<[z.output<Body>] extends [Input] ? Body : BodyMismatch<K>>>
      : NoOperation<K>
    : NoOperation<K>

/**
 * What `crud()` takes: the read schema every response goes through, and each route the router serves.
 * A route whose service operation is missing, takes another body or returns rows the read schema does not
 * accept is a compile error on that route.
 *
 * @example
 * ```ts method-body=TaskRouter
 * this.crud({ read: TaskRead, list: { sort: ['createdAt'] }, get: true, create: { body: TaskCreate }, delete: true })
 * ```
 */
export interface CrudRoutes<Svc, Read extends z.ZodObject, CreateBody extends z.ZodType, UpdateBody extends z.ZodType, ReplaceBody extends z.ZodType> {
  /** What clients may read: every response is filtered through it (a password hash never leaves). */
  readonly read: Read
  readonly list?: Op<Svc, 'list'> extends (query: ListQuery<any>) => Promise<Page<infer Row>>
    ? IfRowFits<Row, Read, 'list', ListRoute<Extract<keyof z.output<Read>, string>>>
    : NoOperation<'list'>
  readonly get?: Op<Svc, 'get'> extends (id: RouteId<Read>) => Promise<infer Row> ? IfRowFits<Row, Read, 'get', true | RouteOptions> : NoOperation<'get'>
  readonly create?: BodyRouteOf<Svc, 'create', Read, CreateBody>
  readonly update?: BodyRouteOf<Svc, 'update', Read, UpdateBody>
  readonly replace?: BodyRouteOf<Svc, 'replace', Read, ReplaceBody>
  readonly delete?: Op<Svc, 'delete'> extends (id: RouteId<Read>) => Promise<unknown> ? true | RouteOptions : NoOperation<'delete'>
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined

/**
 * What a custom route's handler receives: validated input and the request's service.
 *
 * @example
 * ```ts
 * const TaskIdParams = z.object({ id: z.uuid() })
 * // the handler of this.route({ method: 'PATCH', url: '/:id/title', params: TaskIdParams, body: TaskUpdate, … })
 * async function rename({ service, params, body, request }: RouteContext<TaskService, typeof TaskUpdate, undefined, typeof TaskIdParams>) {
 *   request.log.info({ taskId: params.id }, 'renaming a task')
 *   return service.update(params.id, { title: body.title })
 * }
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
 * ```ts method-body=TaskRouter
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
 * A typed REST resource. Give it the service class and a URL prefix; in {@link routes} declare the
 * generated routes it serves with {@link crud} (only those exist, see {@link CrudRouteName}) and add
 * routes of your own with {@link route}. Every generated response goes through the read schema, so a
 * column not in it (a password hash) never leaves.
 *
 * The types connect: a service class whose `static inject` does not fit its constructor is an error at
 * `super(…)`, and a route whose service operation is missing or takes another body is an error in `crud`.
 *
 * @example
 * ```ts
 * export class TaskRouter extends BaseRouter<typeof TaskService> {
 *   constructor() {
 *     super(TaskService, '/tasks', { auth: true })
 *   }
 *   protected override routes(): void {
 *     this.crud({
 *       read: TaskRead,
 *       list: { filter: ['done'], sort: ['createdAt'], defaultSort: ['-createdAt'] },
 *       get: true,
 *       create: { body: TaskCreate },
 *       update: { body: TaskUpdate },
 *       delete: true,
 *     })
 *   }
 * }
 * await app.register(new TaskRouter().plugin)
 * ```
 */
export abstract class BaseRouter<C extends ServiceClass> {
  /**
   * Where {@link route} and {@link crud} collect while {@link routes} runs; set only during a
   * registration, so that every app (and every prefix in one app) gets the routes exactly once.
   */
  #collecting: RouteDefinition<InstanceType<C>, any, any, any, any>[] | undefined

  constructor(
    protected readonly service: C & InjectList<C>,
    readonly prefix: string,
    protected readonly options: BaseRouterOptions = {},
  ) {}

  /**
   * Override to declare the routes: {@link crud} for generated ones, {@link route} for your own. Called
   * on every registration of the router (one instance may be registered into several apps), so keep it
   * free of other side effects.
   */
  protected routes(): void {}

  /** Adds a custom route, typed from its schemas. Call from {@link routes}. */
  protected route<
    Body extends z.ZodType | undefined = undefined,
    Query extends z.ZodType | undefined = undefined,
    Params extends z.ZodType | undefined = undefined,
    Response extends z.ZodType | undefined = undefined,
  >(definition: RouteDefinition<InstanceType<C>, Body, Query, Params, Response>): void {
    this.#collect(`route`).push(definition)
  }

  /**
   * Declares the generated routes this router serves (see {@link CrudRoutes}); call from {@link routes}.
   * Each listed route calls the service operation of the same name.
   */
  protected crud<
    Read extends z.ZodObject,
    CreateBody extends z.ZodType = z.ZodType,
    UpdateBody extends z.ZodType = z.ZodType,
    ReplaceBody extends z.ZodType = z.ZodType,
  >(routes: CrudRoutes<InstanceType<C>, Read, CreateBody, UpdateBody, ReplaceBody>): void {
    const collecting = this.#collect('crud')
    const read = routes.read
    const IdParams = z.object({ id: read.shape.id ?? z.string() })
    const name = this.#resourceName()
    // A route's options: its value when that is an object (`true` means "with the defaults").
    const options = (value: unknown): RouteOptions & ListOptions & { readonly body?: unknown } =>
      typeof value === 'object' && value !== null ? value : {}
    const bodyOf = (value: unknown): z.ZodType => {
      const { body } = options(value)
      if (!(body instanceof z.ZodType)) throw new TypeError(`${this.constructor.name}: a create, update or replace route needs a body schema`)
      return body
    }
    if (routes.list) {
      const list: RouteOptions & ListOptions = options(routes.list)
      collecting.push({
        method: 'GET',
        url: '/',
        summary: `List ${name}s`,
        ...list,
        query: listQuerySchema(read, list),
        response: pageSchema(read),
        handler: ({ service, query }) => operation(service, 'list')(parseListQuery(query, read, list)),
      })
    }
    if (routes.get) {
      collecting.push({
        method: 'GET',
        url: '/:id',
        summary: `Get a ${name}`,
        ...options(routes.get),
        params: IdParams,
        response: read,
        handler: ({ service, params }) => operation(service, 'get')(params.id),
      })
    }
    if (routes.create) {
      collecting.push({
        method: 'POST',
        url: '/',
        status: 201,
        summary: `Create a ${name}`,
        ...options(routes.create),
        body: bodyOf(routes.create),
        response: read,
        handler: ({ service, body }) => operation(service, 'create')(body),
      })
    }
    if (routes.update) {
      collecting.push({
        method: 'PATCH',
        url: '/:id',
        summary: `Change some fields of a ${name}`,
        ...options(routes.update),
        params: IdParams,
        body: bodyOf(routes.update),
        response: read,
        handler: ({ service, params, body }) => operation(service, 'update')(params.id, body),
      })
    }
    if (routes.replace) {
      collecting.push({
        method: 'PUT',
        url: '/:id',
        summary: `Replace a ${name}`,
        ...options(routes.replace),
        params: IdParams,
        body: bodyOf(routes.replace),
        response: read,
        handler: ({ service, params, body }) => operation(service, 'replace')(params.id, body),
      })
    }
    if (routes.delete) {
      collecting.push({
        method: 'DELETE',
        url: '/:id',
        status: 204,
        summary: `Delete a ${name}`,
        ...options(routes.delete),
        params: IdParams,
        response: NoContent,
        handler: async ({ service, params }) => {
          await operation(service, 'delete')(params.id)
          return null
        },
      })
    }
  }

  #collect(method: string): RouteDefinition<InstanceType<C>, any, any, any, any>[] {
    if (!this.#collecting) throw new Error(`${this.constructor.name}: call ${method}() from routes(), not from elsewhere`)
    return this.#collecting
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
      provide(app.container, router.service)
      await app.register(async (scoped) => router.#register(scoped), { prefix: router.prefix })
    }
    return plugin
  }

  #register(app: FastifyInstance): void {
    const routes: RouteDefinition<InstanceType<C>, any, any, any, any>[] = (this.#collecting = [])
    try {
      this.routes()
    } finally {
      this.#collecting = undefined
    }
    for (const route of routes) this.#add(app, route)
  }

  #resourceName(): string {
    return this.prefix.split('/').filter(Boolean)[0]?.replace(/s$/, '') ?? 'resource'
  }

  #add(app: FastifyInstance, def: RouteDefinition<InstanceType<C>, any, any, any, any>): void {
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

    // The zod schemas are compiled by fastify-type-provider-zod (fastkit's validator and serializer
    // compilers); the handler's types come from the RouteDefinition, so the route itself is untyped.
    const schema: FastifySchema = {
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
    }
    app.route({
      method: def.method,
      url: def.url === '/' ? '' : def.url,
      ...(preHandler.length ? { preHandler } : {}),
      config: { uow: def.uow },
      schema,
      handler: async (request, reply) => {
        // The service is an instance of C itself, built by provide() from C's checked `static inject`.
        const result = await def.handler(new HandlerContext<InstanceType<C>>(request, reply, service))
        if (reply.sent) return reply
        reply.code(reply.statusCode !== 200 ? reply.statusCode : status)
        return status === 204 ? reply.send() : result
      },
    })
  }
}

/**
 * The service operation a generated route calls. Its type was checked by {@link CrudRoutes} where the
 * route was declared; here it is looked up by name, so that no cast is needed.
 */
function operation(service: object, name: CrudRouteName): (...args: unknown[]) => Promise<unknown> {
  const op: unknown = Reflect.get(service, name)
  if (typeof op !== 'function') {
    throw new TypeError(`${service.constructor.name} has no ${name} operation: declare \`readonly ${name} = this.crud.${name}()\``)
  }
  return async (...args) => op.apply(service, args)
}
