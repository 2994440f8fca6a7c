import type { WebSocket } from 'ws'

/**
 * One open WebSocket connection of the gateway: whose it is and what it receives.
 */
export interface GatewayConnection {
  readonly socket: WebSocket
  readonly userId: string
  /** The session (`sid`) of the token it was opened with, if the token named one. */
  readonly sessionId: string | undefined
  /** The topics it receives, decided by the server when it opened. */
  readonly topics: readonly string[]
  /** Whether it answered since the last heartbeat ping. */
  alive: boolean
}

/**
 * Which connections this process holds, indexed by user, by session and by topic, so that delivering
 * an event, ending a session or disconnecting a user touches only the connections concerned, never
 * all of them. Knows nothing of Fastify, tokens or the event bus (the gateway's wiring does).
 */
export class ConnectionRegistry<C extends GatewayConnection = GatewayConnection> {
  readonly #all = new Set<C>()
  readonly #byUser = new Map<string, Set<C>>()
  readonly #bySession = new Map<string, Set<C>>()
  readonly #byTopic = new Map<string, Set<C>>()

  /** How many connections are registered. */
  get size(): number {
    return this.#all.size
  }

  /** How many topics at least one connection receives. */
  get topicCount(): number {
    return this.#byTopic.size
  }

  /** Registers a connection under its user, session and topics. Returns the topics nobody received before. */
  add(connection: C): string[] {
    if (this.#all.has(connection)) return []
    this.#all.add(connection)
    addTo(this.#byUser, connection.userId, connection)
    if (connection.sessionId !== undefined) addTo(this.#bySession, connection.sessionId, connection)
    const opened: string[] = []
    for (const topic of connection.topics) if (addTo(this.#byTopic, topic, connection)) opened.push(topic)
    return opened
  }

  /** Forgets a connection (when it closed). Returns the topics nobody receives any more. */
  delete(connection: C): string[] {
    if (!this.#all.delete(connection)) return []
    removeFrom(this.#byUser, connection.userId, connection)
    if (connection.sessionId !== undefined) removeFrom(this.#bySession, connection.sessionId, connection)
    const closed: string[] = []
    for (const topic of connection.topics) if (removeFrom(this.#byTopic, topic, connection)) closed.push(topic)
    return closed
  }

  /** Every connection (a copy: callers may close connections while they go through it). */
  all(): C[] {
    return [...this.#all]
  }

  /** The connections of `userId` (a copy). */
  ofUser(userId: string): C[] {
    return [...(this.#byUser.get(userId) ?? [])]
  }

  /** The connections of `userId` (if given), plus those opened with any of `sessionIds`, each once (a copy). */
  ofUserOrSessions(userId: string | undefined, sessionIds: readonly string[]): C[] {
    const found = new Set(userId === undefined ? [] : this.#byUser.get(userId))
    for (const sessionId of sessionIds) for (const connection of this.#bySession.get(sessionId) ?? []) found.add(connection)
    return [...found]
  }

  /**
   * Calls `fn` once for each connection that receives any of `topics` (once even when it receives
   * several of them). `fn` must not add or delete connections synchronously (closing a socket is
   * fine: its `close` event comes later).
   */
  forTopics(topics: readonly string[], fn: (connection: C) => void): void {
    if (topics.length === 1) {
      const connections = this.#byTopic.get(topics[0]!)
      if (connections) for (const connection of connections) fn(connection)
      return
    }
    // Connections receive one topic by default (their user's): only those with several are deduped.
    let seen: Set<C> | undefined
    for (const topic of new Set(topics)) {
      const connections = this.#byTopic.get(topic)
      if (!connections) continue
      for (const connection of connections) {
        if (connection.topics.length > 1) {
          seen ??= new Set()
          if (seen.has(connection)) continue
          seen.add(connection)
        }
        fn(connection)
      }
    }
  }
}

/** Adds `value` under `key`; true when `key` was not in the index before. */
function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): boolean {
  const set = index.get(key)
  if (set) {
    set.add(value)
    return false
  }
  index.set(key, new Set([value]))
  return true
}

/** Removes `value` from under `key`; true when that left `key` empty (and removed it). */
function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): boolean {
  const set = index.get(key)
  if (!set || !set.delete(value) || set.size > 0) return false
  index.delete(key)
  return true
}
