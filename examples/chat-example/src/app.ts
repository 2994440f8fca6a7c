import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import formbody from '@fastify/formbody'
import type { Kysely } from 'kysely'
import { fastkit, fastkitAuth, LoginThrottle, fastkitOpenApi, redactingLogger, RegistrationThrottle, serverOptions, type EventTransport } from 'fastkit'
import { AccountRouter } from './auth/account.router.js'
import { AuthRouter } from './auth/auth.router.js'
import { throttleStoreFor } from './auth/throttle-store.js'
import { ChatRouter } from './chats/chat.router.js'
import type { ChatConfig } from './config.js'
import type { DB } from './db/schema.js'
import { health } from './health.js'
import { MessageRouter } from './messages/message.router.js'
import { realtime } from './realtime/realtime.js'
import { UserRouter } from './users/user.router.js'
import { webClient } from './web/web-client.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface BuildAppOptions {
  readonly config: ChatConfig
  readonly db: Kysely<DB>
  /** Fastify's options (logger…). */
  readonly fastify?: FastifyServerOptions
  /** Overrides the event transport chosen from the config (tests). */
  readonly transport?: EventTransport
  /** Overrides the login throttle's limits (tests). */
  readonly loginThrottle?: FastkitAuthOptions['loginThrottle']
  /** Overrides the registration throttle's limit per address (tests, the benchmark). */
  readonly registrationThrottle?: FastkitAuthOptions['registrationThrottle']
  /** Overrides the password hasher (tests count or stall argon2 through it). */
  readonly passwordHasher?: FastkitAuthOptions['passwordHasher']
  /** Access-token lifetime in seconds (tests shorten it to exercise refresh). Default fastkit's 900. */
  readonly accessTokenTtlSeconds?: number
  /** Where the built web client is (tests build their own). Default web/dist. */
  readonly webRoot?: string
}

type FastkitAuthOptions = Parameters<typeof fastkitAuth>[1]

/**
 * The composition root: every plugin and router of the chat, in order. Nothing else wires anything.
 * The database is the caller's (see main.ts): it is migrated before and destroyed after.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, db } = options
  // Tokens never reach a log line: ?token= redacted, no headers (see fastkit's redactingLogger).
  const app = Fastify(
    serverOptions({
      bodyLimit: 64 * 1024,
      trustProxy: false,
      ...options.fastify,
      logger: redactingLogger(options.fastify?.logger),
    }),
  )
  await app.register(fastkit, { db })
  // One store for both throttles, shared by every process of the chat (see throttle-store.ts).
  const store = throttleStoreFor(config, db)
  const { loginThrottle, registrationThrottle } = options
  await app.register(fastkitAuth, {
    secret: config.jwtSecret,
    issuer: 'chat-example',
    audience: 'chat-example-api',
    // A deleted account's tokens are 401 on every route, even in a process started after the deletion.
    userExists: async (id) => UUID.test(id) && (await db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) !== undefined,
    loginThrottle: loginThrottle instanceof LoginThrottle ? loginThrottle : { store, ...loginThrottle },
    registrationThrottle: registrationThrottle instanceof RegistrationThrottle ? registrationThrottle : { store, ...registrationThrottle },
    ...(options.passwordHasher ? { passwordHasher: options.passwordHasher } : {}),
    ...(options.accessTokenTtlSeconds ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}),
  })
  await app.register(fastkitOpenApi, {
    title: 'fastkit chat example',
    version: '1.0.0',
    description: 'A real-time chat built by subclassing fastkit’s BaseRouter, BaseService and BaseRepository.',
    tokenUrl: '/auth/login',
  })
  await realtime(app, config, options.transport)
  await app.register(health)
  // Form bodies only where the OAuth2 password flow sends them (/auth): anywhere else a form is a 415.
  await app.register(async (auth) => {
    await auth.register(formbody)
    await auth.register(new AuthRouter().plugin)
  })
  for (const router of [new AccountRouter(), new UserRouter(), new ChatRouter(), new MessageRouter()]) {
    await app.register(router.plugin)
  }
  await webClient(app, options.webRoot ? { root: options.webRoot } : {})
  return app
}
