export { HubConnection, type ConnectionState, type HubConnectionOptions } from "./hub-connection.js";
export { HubStream, type StreamObserver, type Subscription } from "./hub-stream.js";
export { CallOptions, withSignal } from "./call-options.js";
export { defaultRetryPolicy, noRetry, type RetryPolicy } from "./retry-policy.js";
export { HubClientError, HubError, HttpError, type ClientErrorCode } from "./errors.js";
export { consoleLogger, silentLogger, type Logger, type LogLevel, type LogFields } from "./logger.js";
export type { RetryEvent } from "./connection-events.js";
export type { AuthenticationRefreshOptions } from "./authentication-refresh.js";
export type { TransportKind } from "./transports/transport.js";
export { createHubProxy, registerHandlers, type HubProxy, type HubMethods, type ClientHandlers, type MethodSpec, type ProxyMethod } from "./proxy.js";
// The default protocol, for naming it: a JSON hub on a MessagePack multiplexer says `protocol: json`.
export { jsonHubProtocol as json } from "../src/protocol/json-protocol.js";
