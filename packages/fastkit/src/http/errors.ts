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

/** The stable error codes fastkit itself uses. Apps may add their own strings. */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const

/** A code fastkit knows, or any app-defined string. */
export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode] | (string & {})

/** One problem with one input field, as in `errors: [{ path, message }]` of a problem+json body. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `body.memberIds.2`. */
  readonly path: string
  readonly message: string
}

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

/** Base class of every error fastkit renders as a problem+json response. */
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

/** 400 with field issues. Thrown for request bodies, queries and params that fail their schema. */
export class ValidationError extends HttpError {
  constructor(message: string, issues: readonly FieldIssue[] = [], options: Shortcut = {}) {
    super({ status: 400, code: ErrorCode.VALIDATION_FAILED, message, issues, ...options })
  }
}

/** 400 for input that is well-formed but unusable (a bad cursor, an unknown reference). */
export class BadRequestError extends HttpError {
  constructor(message = 'Bad request', options: Shortcut & { issues?: readonly FieldIssue[] } = {}) {
    super({ status: 400, code: ErrorCode.BAD_REQUEST, message, ...options })
  }
}

/** 401 with `WWW-Authenticate: Bearer`. */
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

/** 403: the caller may see the resource but not change it. */
export class ForbiddenError extends HttpError {
  constructor(message = 'Forbidden', options: Shortcut = {}) {
    super({ status: 403, code: ErrorCode.FORBIDDEN, message, ...options })
  }
}

/** 404: the resource does not exist, or the caller may not know that it does. */
export class NotFoundError extends HttpError {
  constructor(message = 'Not found', options: Shortcut = {}) {
    super({ status: 404, code: ErrorCode.NOT_FOUND, message, ...options })
  }
}

/** 409: the write conflicts with existing state (a unique value already taken). */
export class ConflictError extends HttpError {
  constructor(message = 'Conflict', options: Shortcut = {}) {
    super({ status: 409, code: ErrorCode.CONFLICT, message, ...options })
  }
}

/** 429 with `Retry-After` (seconds). */
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

/** 503: a dependency (the database) is not answering. */
export class ServiceUnavailableError extends HttpError {
  constructor(message = 'Service unavailable', options: Shortcut = {}) {
    super({ status: 503, code: ErrorCode.SERVICE_UNAVAILABLE, message, ...options })
  }
}

/** True for any fastkit {@link HttpError}, including subclasses from another copy of the package. */
export function isHttpError(error: unknown): error is HttpError {
  return (
    error instanceof HttpError ||
    (error instanceof Error &&
      typeof (error as Partial<HttpError>).status === 'number' &&
      typeof (error as Partial<HttpError>).code === 'string' &&
      'issues' in error)
  )
}
