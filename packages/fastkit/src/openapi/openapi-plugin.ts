import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, onSendHookHandler } from 'fastify'
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { STATUS_CODES } from 'node:http'
import { BEARER_AUTH_SCHEME } from './security-schemes.js'

/**
 * Options of the {@link fastkitOpenApi} plugin: the document's title and version, and where it is served.
 *
 * @example
 * ```ts
 * await app.register(fastkitOpenApi, { title: 'Tasks API', version: '1.0.0', uiPath: false })
 * ```
 */
export interface FastkitOpenApiOptions {
  readonly title: string
  readonly version: string
  readonly description?: string
  /** Where the OAuth2 password flow posts (Swagger UI's Authorize button), e.g. `/auth/login`. */
  readonly tokenUrl?: string
  /** Path of the JSON document. Default `/openapi.json`. */
  readonly jsonPath?: string
  /** Path of Swagger UI; `false` to leave it out. Default `/docs`. */
  readonly uiPath?: string | false
}

/**
 * Serves an OpenAPI 3.1 document of every route, generated from the routes' zod schemas
 * (`/openapi.json`), and Swagger UI (`/docs`) whose Authorize button logs in through the OAuth2
 * password flow at `tokenUrl`. Register it before the routers, so it sees their routes.
 *
 * Error responses are documented as `application/problem+json` with an example, every response has
 * a description, and the token endpoint's errors also carry OAuth2's `error` and `error_description`
 * (RFC 6749 §5.2), which Swagger UI's Authorize dialog shows. The dialog asks only for a username
 * and a password, and the top bar shows the API's title.
 *
 * @example
 * ```ts
 * await app.register(fastkitOpenApi, { title: 'Chat API', version: '1.0.0', tokenUrl: '/auth/login' })
 * await app.register(new TaskRouter().plugin)
 * ```
 */
export const fastkitOpenApi = fp(
  async function fastkitOpenApi(app: FastifyInstance, options: FastkitOpenApiOptions) {
    const jsonPath = options.jsonPath ?? '/openapi.json'
    const uiPath = options.uiPath === undefined ? '/docs' : options.uiPath
    const transformObject = createJsonSchemaTransformObject({})
    const skipList = [jsonPath, ...(uiPath ? [uiPath, `${uiPath}/`, `${uiPath}/*`, `${uiPath}/json`, `${uiPath}/yaml`, `${uiPath}/static/*`, `${uiPath}/initOAuth`, `${uiPath}/uiConfig`] : [])]
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: options.title, version: options.version, ...(options.description ? { description: options.description } : {}) },
        components: {
          securitySchemes: {
            [BEARER_AUTH_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            ...(options.tokenUrl ? { oauth2: { type: 'oauth2', flows: { password: { tokenUrl: options.tokenUrl, scopes: {} } } } } : {}),
          },
        },
      },
      transform: createJsonSchemaTransform({ skipList }),
      transformObject: (input) => polishDocument(transformObject(input as never) as OpenApiDocument),
    })
    // Routes declare the bearer scheme; with a token URL, the OAuth2 scheme is accepted as an alternative.
    if (options.tokenUrl) {
      // Swagger UI's Authorize dialog shows only OAuth2's `error` / `error_description` of a failed
      // login; the problem+json fields stay for every other client. A hook of the token route only:
      // no other request pays for it.
      const tokenUrl = options.tokenUrl
      const withOAuth2Fields: onSendHookHandler = (_request, reply, payload, done) => {
        if (reply.statusCode < 400 || typeof payload !== 'string') return done(null, payload)
        if (!String(reply.getHeader('content-type') ?? '').includes('application/problem+json')) return done(null, payload)
        done(null, JSON.stringify(withOAuth2Error(JSON.parse(payload) as ProblemBody, reply.statusCode)))
      }
      app.addHook('onRoute', (route) => {
        const schema = route.schema as { security?: Record<string, string[]>[] } | undefined
        if (schema?.security?.some((s) => BEARER_AUTH_SCHEME in s) && !schema.security.some((s) => 'oauth2' in s)) {
          schema.security = [...schema.security, { oauth2: [] }]
        }
        if (route.url === tokenUrl) route.onSend = [...(route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]), withOAuth2Fields]
      })
    }
    app.get(jsonPath, { schema: { hide: true } }, async () => app.swagger())
    if (uiPath) {
      await app.register(swaggerUi, {
        routePrefix: uiPath,
        uiConfig: { persistAuthorization: true },
        // The API's own name in the top bar and the tab, not a framework's logo.
        logo: { type: 'image/svg+xml', content: Buffer.from(titleLogo(options.title)) },
        theme: { title: options.title, css: [{ filename: 'fastkit.css', content: SWAGGER_UI_CSS }] },
      })
    }
  },
  { name: 'fastkit.openapi', fastify: '5.x', dependencies: ['fastkit'] },
)

type OpenApiDocument = {
  paths?: Record<string, Record<string, { responses?: Record<string, ResponseObject> } | unknown>>
  components?: { schemas?: Record<string, unknown> }
}
type ResponseObject = { description?: string; content?: Record<string, { schema?: { description?: string } & Record<string, unknown> }> }
type ProblemBody = { status?: number; detail?: string; title?: string } & Record<string, unknown>

const PROBLEM_REF = '#/components/schemas/Problem'
const EXAMPLE_CODES: Record<number, [code: string, detail: string]> = {
  400: ['VALIDATION_FAILED', 'Request validation failed'],
  401: ['UNAUTHORIZED', 'Missing bearer token'],
  403: ['FORBIDDEN', 'Forbidden'],
  404: ['NOT_FOUND', 'Not found'],
  409: ['CONFLICT', 'A record with this name already exists'],
  429: ['RATE_LIMITED', 'Too many attempts; retry later'],
  503: ['SERVICE_UNAVAILABLE', 'Service unavailable'],
}

/**
 * The generated document, made readable: every response described (not "Default Response"), every
 * error response an `application/problem+json` with a plausible example, and no `…Input` twins of
 * registered schemas that nothing references (fastify-type-provider-zod emits one per schema id).
 */
function polishDocument(doc: OpenApiDocument): OpenApiDocument {
  const schemas = doc.components?.schemas ?? {}
  const hasProblem = 'Problem' in schemas
  for (const item of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(item)) {
      const responses = (operation as { responses?: Record<string, ResponseObject> } | undefined)?.responses
      if (!responses || typeof responses !== 'object') continue
      for (const [code, response] of Object.entries(responses)) {
        const error = /^[45]/.test(code)
        if (error && hasProblem) {
          const status = /^\d{3}$/.test(code) ? Number(code) : code.startsWith('5') ? 503 : 400
          const own = response.content?.['application/json']?.schema?.description
          response.content = { 'application/problem+json': { schema: { $ref: PROBLEM_REF }, example: problemExample(status) } as never }
          if (!response.description || response.description === 'Default Response') response.description = own ?? errorDescription(code)
        } else if (!response.description || response.description === 'Default Response') {
          const own = Object.values(response.content ?? {})[0]?.schema?.description
          response.description = own ?? STATUS_CODES[Number(code)] ?? 'Response'
        }
      }
    }
  }
  for (const name of Object.keys(schemas)) {
    if (!name.endsWith('Input') || !(name.slice(0, -'Input'.length) in schemas)) continue
    const { [name]: _self, ...rest } = schemas
    if (!JSON.stringify({ paths: doc.paths, schemas: rest }).includes(`"#/components/schemas/${name}"`)) delete schemas[name]
  }
  return doc
}

function errorDescription(code: string): string {
  if (code === '4XX') return 'Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400)'
  if (code === '5XX') return 'Server error: an RFC 9457 problem with a stable `code`'
  return `${STATUS_CODES[Number(code)] ?? 'Error'}: an RFC 9457 problem with a stable \`code\``
}

function problemExample(status: number): Record<string, unknown> {
  const [code, detail] = EXAMPLE_CODES[status] ?? ['INTERNAL', STATUS_CODES[status] ?? 'Error']
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(status === 400 ? { errors: [{ path: 'body.title', message: 'Too small: expected string to have >=1 characters' }] } : {}),
  }
}

/** The OAuth2 error code (RFC 6749 §5.2) for a failed token request's status. */
function withOAuth2Error(problem: ProblemBody, status: number): ProblemBody {
  const error = status === 400 ? 'invalid_request' : status === 401 || status === 403 ? 'invalid_grant' : status === 429 || status >= 500 ? 'temporarily_unavailable' : 'invalid_request'
  return { ...problem, error, error_description: problem.detail ?? problem.title ?? STATUS_CODES[status] ?? 'Error' }
}

/** An SVG of the API's title, white on Swagger UI's dark top bar. */
function titleLogo(title: string): string {
  const text = title.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
  const width = Math.max(40, Math.ceil(title.length * 13.5) + 8)
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="40" viewBox="0 0 ${width} 40">` +
    `<text x="0" y="28" fill="#ffffff" font-family="sans-serif" font-size="24" font-weight="700">${text}</text></svg>`
  )
}

/**
 * The password flow needs a username and a password: hide the dialog's client credential fields
 * (client_id, client_secret and their location), which fastkit's token endpoint does not use.
 */
const SWAGGER_UI_CSS = `
.swagger-ui .auth-container .wrapper:has(> label[for="password_type"]),
.swagger-ui .auth-container .wrapper:has(> label[for^="client_id_"]),
.swagger-ui .auth-container .wrapper:has(> label[for^="client_secret_"]) { display: none; }
`
