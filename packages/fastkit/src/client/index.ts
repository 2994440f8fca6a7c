/**
 * `fastkit/client`: what a browser (or any client) of a fastkit app needs, with no Node built-ins.
 * Today: a gap-free live connection to the WebSocket gateway.
 */
export {
  connectLive,
  defaultEventKey,
  DEFAULT_END_CLOSE_CODES,
  DEFAULT_REFRESH_CLOSE_CODES,
  type CatchUpArgs,
  type LiveConnection,
  type LiveConnectionOptions,
  type LiveEvent,
  type LiveStatus,
  type TokenRequest,
  type WebSocketConstructorLike,
  type WebSocketLike,
} from './live-connection.js'
export { backoffDelay, type BackoffOptions } from './backoff.js'
