/**
 * The one error family of fastkit. Every error a fastkit app raises on purpose is an {@link HttpError}
 * with a stable machine-readable `code`, an HTTP `status` and an optional `cause`; the problem+json
 * handler ({@link problemDetails}) is the one place that turns them into responses.
 *
 * @example
 * ```ts
 * throw new NotFoundError('Chat not found')
 * throw new HttpError({ status: 402, code: 'PAYMENT_REQUIRED', message: 'Upgrade your plan' })
 * ```
 */

/**
 * The stable error codes fastkit itself uses (the `code` of a problem+json body). Apps may add their own strings.
 *
 * @example
 * ```ts
 * const res = await app.inject({ method: 'POST', url: '/tasks', payload: { title: '' } })
 * const problem = res.json<Problem>()
 * if (problem.code === ErrorCode.VALIDATION_FAILED) console.log(problem.errors) // [{ path: 'body.title', … }]
 * ```
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  URI_TOO_LONG: 'URI_TOO_LONG',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'RATE_LIMITED',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const

/**
 * A code fastkit knows, or any app-defined string.
 *
 * @example
 * ```ts
 * const code: ErrorCodeName = 'PAYMENT_REQUIRED' // or ErrorCode.NOT_FOUND
 * ```
 */
export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode] | (string & {})

/**
 * One problem with one input field, as in `errors: [{ path, message }]` of a problem+json body.
 *
 * @example
 * ```ts
 * const issue: FieldIssue = { path: 'body.memberIds.2', message: 'Invalid UUID' }
 * ```
 */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `body.memberIds.2`. */
  readonly path: string
  readonly message: string
}

/**
 * What an {@link HttpError} is made of.
 *
 * @example
 * ```ts
 * new HttpError({ status: 402, code: 'PAYMENT_REQUIRED', message: 'Upgrade your plan', headers: { link: '</billing>' } })
 * ```
 */
export interface HttpErrorOptions {
  readonly status: number
  readonly code: ErrorCodeName
  readonly message: string
  readonly cause?: unknown
  /** Field-level issues; rendered as `errors` in the problem+json body. */
  readonly issues?: readonly FieldIssue[]
  /** Extra response headers, e.g. `WWW-Authenticate` or `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * Base class of every error fastkit renders as a problem+json response. Throw it (or a subclass) anywhere
 * in a request: the response gets its status, code, issues and headers.
 *
 * @example
 * ```ts
 * throw new HttpError({ status: 402, code: 'PAYMENT_REQUIRED', message: 'Upgrade your plan' })
 * // 402 application/problem+json { "status": 402, "code": "PAYMENT_REQUIRED", "detail": "Upgrade your plan", … }
 * ```
 */
export class HttpError extends Error {
  readonly status: number
  readonly code: ErrorCodeName
  readonly issues: readonly FieldIssue[] | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(options: HttpErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.status = options.status
    this.code = options.code
    this.issues = options.issues
    this.headers = options.headers ?? {}
  }
}

type Shortcut = { cause?: unknown; headers?: Readonly<Record<string, string>> }

/**
 * 400 with field issues. Thrown for request bodies, queries and params that fail their schema.
 *
 * @example
 * ```ts
 * throw new ValidationError('Invalid period', [{ path: 'body.endsAt', message: 'must be after startsAt' }])
 * ```
 */
export class ValidationError extends HttpError {
  constructor(message: string, issues: readonly FieldIssue[] = [], options: Shortcut = {}) {
    super({ status: 400, code: ErrorCode.VALIDATION_FAILED, message, issues, ...options })
  }
}

/**
 * 400 for input that is well-formed but unusable (a bad cursor, an unknown reference).
 *
 * @example
 * ```ts
 * throw new BadRequestError('The cursor belongs to another sort order')
 * ```
 */
export class BadRequestError extends HttpError {
  constructor(message = 'Bad request', options: Shortcut & { issues?: readonly FieldIssue[] } = {}) {
    super({ status: 400, code: ErrorCode.BAD_REQUEST, message, ...options })
  }
}

/**
 * 401 with `WWW-Authenticate: Bearer`.
 *
 * @example
 * ```ts
 * if (!user) throw new UnauthorizedError('Invalid username or password')
 * ```
 */
export class UnauthorizedError extends HttpError {
  constructor(message = 'Authentication required', options: Shortcut = {}) {
    super({
      status: 401,
      code: ErrorCode.UNAUTHORIZED,
      message,
      ...options,
      headers: { 'www-authenticate': 'Bearer', ...options.headers },
    })
  }
}

/**
 * 403: the caller may see the resource but not change it.
 *
 * @example
 * ```ts
 * const message = await db.selectFrom('messages').selectAll().where('id', '=', 'b3c…').executeTakeFirstOrThrow()
 * if (message.senderId !== user.id) throw new ForbiddenError('Only the sender may edit a message')
 * ```
 */
export class ForbiddenError extends HttpError {
  constructor(message = 'Forbidden', options: Shortcut = {}) {
    super({ status: 403, code: ErrorCode.FORBIDDEN, message, ...options })
  }
}

/**
 * 404: the resource does not exist, or the caller may not know that it does.
 *
 * @example
 * ```ts
 * const task = await resolve(request.container, TaskRepository).findById('b3c…')
 * if (!task) throw new NotFoundError('Task not found')
 * ```
 */
export class NotFoundError extends HttpError {
  constructor(message = 'Not found', options: Shortcut = {}) {
    super({ status: 404, code: ErrorCode.NOT_FOUND, message, ...options })
  }
}

/**
 * 409: the write conflicts with existing state (a unique value already taken).
 *
 * @example
 * ```ts
 * declare const existing: Task
 * if (existing.done) throw new ConflictError('A finished task cannot be renamed')
 * ```
 */
export class ConflictError extends HttpError {
  constructor(message = 'Conflict', options: Shortcut = {}) {
    super({ status: 409, code: ErrorCode.CONFLICT, message, ...options })
  }
}

/**
 * 429 with `Retry-After` (seconds).
 *
 * @example
 * ```ts
 * throw new RateLimitedError(30, 'Too many login attempts') // Retry-After: 30
 * ```
 */
export class RateLimitedError extends HttpError {
  constructor(retryAfterSeconds: number, message = 'Too many requests', options: Shortcut = {}) {
    super({
      status: 429,
      code: ErrorCode.RATE_LIMITED,
      message,
      ...options,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))), ...options.headers },
    })
  }
}

/**
 * 503: a dependency (the database) is not answering.
 *
 * @example
 * ```ts
 * throw new ServiceUnavailableError('The search index is rebuilding', { headers: { 'retry-after': '60' } })
 * ```
 */
export class ServiceUnavailableError extends HttpError {
  constructor(message = 'Service unavailable', options: Shortcut = {}) {
    super({ status: 503, code: ErrorCode.SERVICE_UNAVAILABLE, message, ...options })
  }
}

/**
 * True for any fastkit {@link HttpError}, including subclasses from another copy of the package.
 *
 * @example
 * ```ts
 * try {
 *   await resolve(request.container, TaskService).openCount()
 * } catch (error) {
 *   if (isHttpError(error) && error.status === 409) console.log(error.code) // 'CONFLICT'
 *   else throw error
 * }
 * ```
 */
export function isHttpError(error: unknown): error is HttpError {
  return (
    error instanceof HttpError ||
    (error instanceof Error &&
      typeof (error as Partial<HttpError>).status === 'number' &&
      typeof (error as Partial<HttpError>).code === 'string' &&
      'issues' in error)
  )
}
