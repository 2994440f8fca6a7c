/**
 * The topic of one user's connections: `user:<id>`. The {@link fastkitGateway} subscribes every
 * connection to it by default, so an app addresses events to people, computing the recipients (say, a
 * chat's current members) inside the transaction that makes the change. Membership changes then take
 * effect with the next event, with nothing to re-subscribe.
 *
 * @example
 * ```ts
 * declare const events: EventPublisher // a service's, from its `static inject`
 * declare const memberIds: string[], message: { id: string; chatId: string; text: string }
 * events.publish(memberIds.map(userTopic), { type: 'message.created', data: message })
 * ```
 */
export function userTopic(userId: string): string {
  return `user:${userId}`
}
