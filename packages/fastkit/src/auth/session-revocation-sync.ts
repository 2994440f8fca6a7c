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
 * - then arranges to load the families the store revoked in the last access-token lifetime, so a process that
 *   starts after a logout refuses its tokens too. Subscribing first means no end falls between the two.
 *   The load runs on the first token verification (see {@link SessionRevocations.ready}), so a
 *   database that is away does not stop the start (/ready reports it) and an app that never
 *   authenticates never queries.
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
    revocations.loadWith(load)
  })

  /** What the store revoked within an entry's lifetime (`untilFor(0)`); older families have no live access token. */
  async function load(): Promise<void> {
    const since = new Date(Date.now() - revocations.untilFor(0))
    try {
      const families = await UnitOfWork.run(app.db, (uow) => store.revokedSince({ uow, since }))
      for (const family of families) {
        revocations.apply({ sessionIds: [family.familyId], reason: 'revoked', until: revocations.untilFor(family.revokedAt.getTime()) })
      }
      app.log.debug({ sessions: families.length }, 'revoked sessions loaded')
    } catch (error) {
      if (!(isDatabaseError(error) && error.code === UNDEFINED_TABLE)) throw error
      app.log.debug('no refresh_tokens table: no revoked sessions to load')
    }
  }

  app.addHook('onClose', async () => revocations.connect(undefined))
}
