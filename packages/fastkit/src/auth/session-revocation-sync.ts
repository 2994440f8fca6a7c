import type { FastifyInstance } from 'fastify'
import { isDatabaseError } from '../db/database-errors.js'
import { UnitOfWork } from '../uow/unit-of-work.js'
import type { RefreshTokenStore } from './refresh-token-store.js'
import { SESSION_EVENTS_TOPIC, type SessionEnd, type SessionRevocations } from './session-revocations.js'

/** SQLSTATE undefined_table: the app has no `refresh_tokens` table, hence no revoked sessions. */
const UNDEFINED_TABLE = '42P01'

/**
 * Keeps this process's {@link SessionRevocations} complete, once the app is ready:
 * - subscribes to {@link SESSION_EVENTS_TOPIC} on the app's event bus (when there is one) and
 *   publishes this process's session ends there, so every process refuses them within the bus's latency;
 * - then loads the families the store revoked in the last access-token lifetime, so a process that
 *   starts after a logout refuses its tokens too. Subscribing first means no end falls between the two.
 *   A database that does not answer at start does not stop the start: the load is retried with backoff.
 */
export function syncSessionRevocations(app: FastifyInstance, args: { readonly revocations: SessionRevocations; readonly store: RefreshTokenStore }): void {
  const { revocations, store } = args
  app.addHook('onReady', async () => {
    if (app.hasDecorator('events')) {
      const bus = app.events
      bus.subscribe(SESSION_EVENTS_TOPIC, (message) => {
        if (message.type === 'session.ended') revocations.apply(message.data as SessionEnd)
      })
      revocations.connect((end) => {
        try {
          void bus.publish({ topics: [SESSION_EVENTS_TOPIC], type: 'session.ended', data: end })
        } catch (error) {
          app.log.warn({ err: error }, 'session end not published: the event bus is closed')
        }
      })
    }
    await load()
  })

  let retry: NodeJS.Timeout | undefined
  let closed = false
  /** Loads what the store revoked recently; a database that is away is retried in the background (it must not stop the start: /ready reports it). */
  async function load(attempt = 0): Promise<void> {
    // Families revoked longer ago than an entry's lifetime (`untilFor(0)`) have no live access token.
    const since = new Date(Date.now() - revocations.untilFor(0))
    try {
      const families = await UnitOfWork.run(app.db, (uow) => store.revokedSince({ uow, since }))
      for (const family of families) {
        revocations.apply({ sessionIds: [family.familyId], reason: 'revoked', until: revocations.untilFor(family.revokedAt.getTime()) })
      }
      app.log.debug({ sessions: families.length }, 'revoked sessions loaded')
    } catch (error) {
      if (isDatabaseError(error) && error.code === UNDEFINED_TABLE) {
        app.log.debug('no refresh_tokens table: no revoked sessions to load')
        return
      }
      if (closed) return
      const delayMs = Math.min(30_000, 500 * 2 ** attempt)
      app.log.warn({ err: error, retryInMs: delayMs }, 'revoked sessions not loaded yet: sessions ended before this start may be accepted until loaded')
      retry = setTimeout(() => void load(attempt + 1), delayMs)
      retry.unref()
    }
  }
  app.addHook('onClose', async () => {
    closed = true
    clearTimeout(retry)
    revocations.connect(undefined)
  })
}
