/**
 * Test helpers for fastkit apps: throwaway databases on PostgreSQL and PGlite, the dialect matrix
 * (`DIALECTS`, `TEST_DATABASE_URL`, `TEST_REDIS_URL`), and a WebSocket client for gateway tests.
 */
export { createTestDatabase, dialectsUnderTest, testRedisUrl, testServerUrl, type TestDatabase } from './test-database.js'
export { signJwt } from './sign-jwt.js'
export {
  connectWebSocket,
  refusedWebSocketUpgrade,
  webSocketUrl,
  type ReceivedEvent,
  type WebSocketClientOptions,
  type WebSocketTestClient,
} from './websocket-client.js'
