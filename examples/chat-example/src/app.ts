import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import formbody from '@fastify/formbody'
import type { Kysely } from 'kysely'
import { fastkit, fastkitAuth, LoginThrottle, openapi, RegistrationThrottle, type EventTransport } from 'fastkit'
import { AuthRouter } from './auth/auth.router.js'
import { throttleStoreFor } from './auth/throttle-store.js'
import { ChatRouter } from './chats/chat.router.js'
import type { ChatConfig } from './config.js'
import type { DB } from './db/schema.js'
import { health } from './health.js'
import { MessageRouter } from './messages/message.router.js'
import { realtime } from './realtime/realtime.js'
import { UserRouter } from './users/user.router.js'

export interface BuildAppOptions {
  readonly config: ChatConfig
  readonly db: Kysely<DB>
  /** Fastify's options (logger…). */
  readonly fastify?: FastifyServerOptions
  /** Overrides the event transport chosen from the config (tests). */
  readonly transport?: EventTransport
  /** Overrides the login throttle's limits (tests). */
  readonly loginThrottle?: AuthOptions['loginThrottle']
  /** Overrides the registration throttle's limit per address (tests, the benchmark). */
  readonly registrationThrottle?: AuthOptions['registrationThrottle']
  /** Overrides the password hasher (tests count or stall argon2 through it). */
  readonly passwordHasher?: AuthOptions['passwordHasher']
}

type AuthOptions = Parameters<typeof fastkitAuth>[1]

/**
 * The composition root: every plugin and router of the chat, in order. Nothing else wires anything.
 * The database is the caller's (see main.ts): it is migrated before and destroyed after.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, db } = options
  const app = Fastify({ bodyLimit: 64 * 1024, trustProxy: false, ...options.fastify })
  await app.register(formbody)
  await app.register(fastkit, { db })
  // One store for both throttles, shared by every process of the chat (see throttle-store.ts).
  const store = throttleStoreFor(config, db)
  const { loginThrottle, registrationThrottle } = options
  await app.register(fastkitAuth, {
    secret: config.jwtSecret,
    issuer: 'chat-example',
    audience: 'chat-example-api',
    loginThrottle: loginThrottle instanceof LoginThrottle ? loginThrottle : { store, ...loginThrottle },
    registrationThrottle: registrationThrottle instanceof RegistrationThrottle ? registrationThrottle : { store, ...registrationThrottle },
    ...(options.passwordHasher ? { passwordHasher: options.passwordHasher } : {}),
  })
  await app.register(openapi, {
    title: 'fastkit chat example',
    version: '1.0.0',
    description: 'A real-time chat built by subclassing fastkit’s BaseRouter, BaseService and BaseRepository.',
    tokenUrl: '/auth/login',
  })
  await realtime(app, config, options.transport)
  await app.register(health)
  for (const router of [new AuthRouter(), new UserRouter(), new ChatRouter(), new MessageRouter()]) {
    await app.register(router.plugin)
  }
  return app
}
