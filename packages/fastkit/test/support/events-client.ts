// The WebSocket client of these tests is the one fastkit/testing ships to users.
export {
  connectWebSocket as connectClient,
  refusedWebSocketUpgrade as refusedUpgrade,
  webSocketUrl as wsUrl,
  type ReceivedEvent,
  type WebSocketClientOptions as ConnectOptions,
  type WebSocketTestClient as TestClient,
} from '../../src/testing/index.js'

/** Sleeps; for "nothing more arrives" checks only, never to wait for something that should. */
export const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms))
