import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod'

/**
 * Options of the {@link openapi} plugin: the document's title and version, and where it is served.
 *
 * @example
 * ```ts
 * await app.register(openapi, { title: 'Tasks API', version: '1.0.0', uiPath: false })
 * ```
 */
export interface OpenApiOptions {
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
 * @example
 * ```ts
 * await app.register(openapi, { title: 'Chat API', version: '1.0.0', tokenUrl: '/auth/login' })
 * await app.register(new MessageRouter().plugin)
 * ```
 */
export const openapi = fp(
  async function openapi(app: FastifyInstance, options: OpenApiOptions) {
    const jsonPath = options.jsonPath ?? '/openapi.json'
    const uiPath = options.uiPath === undefined ? '/docs' : options.uiPath
    const skipList = [jsonPath, ...(uiPath ? [uiPath, `${uiPath}/`, `${uiPath}/*`, `${uiPath}/json`, `${uiPath}/yaml`, `${uiPath}/static/*`, `${uiPath}/initOAuth`, `${uiPath}/uiConfig`] : [])]
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: options.title, version: options.version, ...(options.description ? { description: options.description } : {}) },
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            ...(options.tokenUrl ? { oauth2: { type: 'oauth2', flows: { password: { tokenUrl: options.tokenUrl, scopes: {} } } } } : {}),
          },
        },
      },
      transform: createJsonSchemaTransform({ skipList }),
      transformObject: createJsonSchemaTransformObject({}),
    })
    // Routes declare `bearerAuth`; with a token URL, the OAuth2 scheme is accepted as an alternative.
    if (options.tokenUrl) {
      app.addHook('onRoute', (route) => {
        const schema = route.schema as { security?: Record<string, string[]>[] } | undefined
        if (schema?.security?.some((s) => 'bearerAuth' in s) && !schema.security.some((s) => 'oauth2' in s)) {
          schema.security = [...schema.security, { oauth2: [] }]
        }
      })
    }
    app.get(jsonPath, { schema: { hide: true } }, async () => app.swagger())
    if (uiPath) {
      await app.register(swaggerUi, {
        routePrefix: uiPath,
        uiConfig: { persistAuthorization: true },
      })
    }
  },
  { name: 'fastkit.openapi', fastify: '5.x', dependencies: ['fastkit'] },
)
