import { UnitOfWork } from '../uow/unit-of-work.js'
import { EventBus } from './event-bus.js'

/** Event types mapped to the type of their `data`; the type parameter of {@link EventPublisher}. */
export type EventMap = Record<string, unknown>

/** One event of an {@link EventMap}: `{ type, data }` with `data` typed after `type`. */
export type EventOf<Events extends EventMap = EventMap> = {
  [Type in keyof Events & string]: { readonly type: Type; readonly data: Events[Type] }
}[keyof Events & string]

/**
 * Publishes real-time events from inside a unit of work (one per request): an event leaves only with
 * the transaction's commit, never after a rollback, and not when the savepoint
 * ({@link UnitOfWork.nested}) it was published in rolled back. Outside a transaction (a unit that
 * only read) it leaves when the unit ends.
 *
 * How depends on the bus's transport. One that can send inside the transaction (PostgreSQL,
 * {@link EventBus.transactional}) gets the event with `uow.beforeCommit`: it is NOTIFYed as part of
 * the transaction (queued to go out with the COMMIT, see {@link UnitOfWork.sendWithCommit}) and every
 * process, this one included, delivers it in the database's commit order (a failing NOTIFY fails the
 * commit). Any other (memory, Redis) gets it with `uow.afterCommit`: this
 * process delivers it at once, in commit order, and other processes in this process's order, so
 * events of two processes may interleave differently than their commits did.
 *
 * `data` is copied through JSON when `publish` is called: the event carries the state of that moment.
 * Registered per request by the {@link fastkitEvents} plugin; list it in a service's `static inject`.
 * Subclass it with an {@link EventMap} for typed events.
 *
 * @example
 * ```ts
 * type Message = RepositoryRow<MessageRepository>
 * type ChatEvents = { 'message.created': Message; 'message.deleted': { id: string; chatId: string } }
 * export class ChatEventPublisher extends EventPublisher<ChatEvents> {}
 *
 * class MessageService {
 *   static readonly inject = [MessageRepository, UnitOfWork, ChatEventPublisher] as const
 *   constructor(
 *     private readonly messages: MessageRepository,
 *     private readonly uow: UnitOfWork<DB>,
 *     private readonly events: ChatEventPublisher,
 *   ) {}
 *   async post(chatId: string, senderId: string, text: string) {
 *     const message = await this.messages.create({ chatId, senderId, text })
 *     // inside the same transaction; sent once it commits:
 *     const members = await this.uow.db.selectFrom('chat_members').select('userId').where('chatId', '=', chatId).execute()
 *     this.events.publish(members.map((m) => userTopic(m.userId)), { type: 'message.created', data: message })
 *     return message
 *   }
 * }
 * ```
 */
export class EventPublisher<Events extends EventMap = EventMap> {
  static readonly inject = [UnitOfWork, EventBus] as const

  readonly #uow: UnitOfWork
  readonly #bus: EventBus

  constructor(uow: UnitOfWork, bus: EventBus) {
    this.#uow = uow
    this.#bus = bus
  }

  /**
   * Queues `event` for `topics` (one topic or several; a subscriber of several still gets it once)
   * until the unit of work commits. Throws at once if `data` cannot be serialized as JSON.
   */
  publish(topics: string | readonly string[], event: EventOf<Events>): void {
    const list = typeof topics === 'string' ? [topics] : [...topics]
    const json = JSON.stringify(event.data)
    const message = { topics: list, type: event.type, data: json === undefined ? null : JSON.parse(json) }
    if (list.length === 0) return
    if (this.#bus.transactional && !this.#uow.singleWrite) {
      const uow = this.#uow
      const bus = this.#bus
      uow.beforeCommit(() => bus.publishInTransaction(uow, message))
      return
    }
    // Not awaited: local subscribers get it synchronously inside publish(), and a slow or broken
    // transport must not hold up the response (the bus reports its failures).
    this.#uow.afterCommit(() => {
      void this.#bus.publish(message)
    })
  }
}
