import { describe, expect, test } from 'vitest'
import type { WebSocket } from 'ws'
import { ConnectionRegistry, type GatewayConnection } from '../src/realtime/connection-registry.js'

/** The registry never touches sockets: a connection here is only an identity with its keys. */
const connection = (userId: string, sessionId: string | undefined, topics: string[]): GatewayConnection => ({
  socket: {} as WebSocket,
  userId,
  sessionId,
  topics,
  alive: true,
})

const reached = (registry: ConnectionRegistry, topics: string[]) => {
  const found: GatewayConnection[] = []
  registry.forTopics(topics, (c) => found.push(c))
  return found
}

describe('ConnectionRegistry', () => {
  test('add reports the topics nobody received before; delete the topics nobody receives any more', () => {
    const registry = new ConnectionRegistry()
    const phone = connection('alice', 's1', ['user:alice'])
    const laptop = connection('alice', 's2', ['user:alice', 'room:1'])
    expect(registry.add(phone)).toEqual(['user:alice'])
    expect(registry.add(laptop)).toEqual(['room:1'])
    expect(registry.add(laptop)).toEqual([])
    expect([registry.size, registry.topicCount]).toEqual([2, 2])
    expect(registry.delete(phone)).toEqual([])
    expect(registry.delete(laptop)).toEqual(['user:alice', 'room:1'])
    expect(registry.delete(laptop)).toEqual([])
    expect([registry.size, registry.topicCount]).toEqual([0, 0])
  })

  test('forTopics reaches each connection of the topics once, even one on several of them or a topic named twice', () => {
    const registry = new ConnectionRegistry()
    const alice = connection('alice', undefined, ['user:alice'])
    const bob = connection('bob', undefined, ['user:bob', 'room:1'])
    const carol = connection('carol', undefined, ['user:carol'])
    for (const c of [alice, bob, carol]) registry.add(c)
    expect(reached(registry, ['user:alice', 'user:bob', 'room:1', 'user:alice'])).toEqual([alice, bob])
    expect(reached(registry, ['room:1'])).toEqual([bob])
    expect(reached(registry, ['user:nobody'])).toEqual([])
    registry.delete(bob)
    expect(reached(registry, ['user:bob', 'room:1'])).toEqual([])
  })

  test("by user and by session: a user's connections, and those of ended sessions, each once", () => {
    const registry = new ConnectionRegistry()
    const a1 = connection('alice', 's1', ['user:alice'])
    const a2 = connection('alice', 's2', ['user:alice'])
    const b1 = connection('bob', 's3', ['user:bob'])
    const anonymous = connection('bob', undefined, ['user:bob'])
    for (const c of [a1, a2, b1, anonymous]) registry.add(c)
    expect(registry.ofUser('alice')).toEqual([a1, a2])
    expect(registry.ofUser('nobody')).toEqual([])
    expect(registry.ofUserOrSessions(undefined, ['s1', 's3', 'gone'])).toEqual([a1, b1])
    expect(registry.ofUserOrSessions('alice', ['s1', 's3'])).toEqual([a1, a2, b1])
    registry.delete(a1)
    expect(registry.ofUserOrSessions(undefined, ['s1'])).toEqual([])
    expect(registry.all()).toEqual([a2, b1, anonymous])
  })
})
