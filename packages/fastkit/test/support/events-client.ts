import { takeUntilBarrier, type ReceivedEvent, type WebSocketTestClient } from '../../src/testing/index.js'

// The WebSocket client of these tests is the one fastkit/testing ships to users.
export {
  connectWebSocket as connectClient,
  refusedWebSocketUpgrade as refusedUpgrade,
  webSocketUrl as wsUrl,
  type ReceivedEvent,
  type WebSocketClientOptions as ConnectOptions,
  type WebSocketTestClient as TestClient,
} from '../../src/testing/index.js'

/**
 * What each of `clients` (all connected as one user) received before one `barrier` event that
 * `postBarrier` publishes to that user, through the same server and bus as the events under test;
 * see `takeUntilBarrier`. `postBarrier` returns the id of the row it created.
 */
export async function receivedBeforeBarrier(
  postBarrier: () => Promise<string>,
  ...clients: WebSocketTestClient[]
): Promise<ReceivedEvent[][]> {
  const id = await postBarrier()
  const isBarrier = (event: ReceivedEvent) => event.type === 'barrier' && event.data?.id === id
  return Promise.all(clients.map((client) => takeUntilBarrier(client, () => isBarrier)))
}
