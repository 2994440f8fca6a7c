/**
 * Test helpers for fastkit apps: throwaway databases on PostgreSQL and PGlite, the dialect matrix
 * (`DIALECTS`, `TEST_DATABASE_URL`, `TEST_REDIS_URL`), a WebSocket client for gateway tests, server processes, and
 * inboxes with barriers, so that "nothing (more) arrived" is asserted exactly instead of after a sleep.
 */
export { createTestDatabase, dialectsUnderTest, testRedisUrl, testServerUrl, type TestDatabase } from './test-database.js'
export { signJwt } from './sign-jwt.js'
export { createInbox, type Inbox, type RecordingInbox } from './inbox.js'
export { expectNothingWithin, takeUntilBarrier, type BarrierOptions } from './barrier.js'
export { freePort, startServerProcess, type ProcessExit, type ServerProcess, type ServerProcessOptions } from './server-process.js'
export {
  connectWebSocket,
  refusedWebSocketUpgrade,
  webSocketUrl,
  type ReceivedEvent,
  type WebSocketClientOptions,
  type WebSocketTestClient,
} from './websocket-client.js'
