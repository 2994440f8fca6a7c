import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { ServiceUnavailableError } from 'fastkit'

/** The built web client (web/dist, made by `web/tools/build.ts`; `pnpm start` builds it first). */
export const WEB_DIST = fileURLToPath(
  // From src/web/ under tsx, from dist/src/web/ once compiled.
  new URL(/\/dist\/src\/web\/[^/]+$/.test(import.meta.url) ? '../../../web/dist/' : '../../web/dist/', import.meta.url),
)

/**
 * The page's Content-Security-Policy: only this origin's own scripts (no inline script, no eval),
 * styles and connections (`'self'` covers the same-origin `ws:`/`wss:` of `/ws`); no plugins, no
 * framing, no `<base>` tricks.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Serves the web client at `/` (index.html) and `/assets/*`, under {@link WEB_CSP}. Hashed assets
 * are cached for a year, index.html never. Without a build, `/` says how to make one (503).
 */
export async function webClient(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? WEB_DIST
  if (!existsSync(`${root}/index.html`)) {
    app.get('/', { schema: { hide: true } }, async () => {
      throw new ServiceUnavailableError('The web client is not built: run `pnpm --filter chat-example build:web` (pnpm start does it)')
    })
    return
  }
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root,
      prefix: '/',
      // Routes for the files that exist, not a catch-all: unknown paths keep the API's problem+json 404.
      wildcard: false,
      decorateReply: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (reply, file) => {
        reply.headers({
          'content-security-policy': WEB_CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': file.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        })
      },
    })
  })
}
