import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import type { AuthenticationRefreshOptions } from "./authentication-refresh.js";
import type { Logger } from "./logger.js";
import type { RetryPolicy } from "./retry-policy.js";
import type { ClientTransport, TransportEvents, TransportKind } from "./transports/transport.js";

/** How a HubConnection connects, reconnects and stays alive. */
export interface HubConnectionOptions {
  /** The hub protocol; default JSON. MessagePack: `import { messagePack } from "hubwire/client/msgpack"`. */
  protocol?: HubProtocol;
  /** Transports this client may use, tried in the server's order. Default: all three. */
  transports?: TransportKind[];
  /** Open a WebSocket at once, without negotiate (requires `transports: ["WebSockets"]`). */
  skipNegotiation?: boolean;
  /** The bearer token, fetched for every connection attempt. */
  accessTokenFactory?: () => string | undefined | Promise<string | undefined>;
  /**
   * Keep the connection's authentication fresh where the server serves authentication refresh
   * (its `authenticationRefresh` option, or ASP.NET Core SignalR 11's): before the token ends
   * (as negotiate, then each refresh, tell), the client POSTs `<url>/refresh` with a fresh
   * token from `accessTokenFactory`, which becomes the connection's, so a server that closes
   * connections whose authentication ended keeps this one. `refreshAuthentication()` refreshes
   * at any time, this option or not. Default false.
   */
  authenticationRefresh?: boolean | AuthenticationRefreshOptions;
  /** HTTP headers of every request (negotiate, polls, sends; not WebSockets in browsers). */
  headers?: Record<string, string>;
  /**
   * Headers for each invocation message (calls, sends and streams), asked at the moment of the
   * call. `traceContext` from `hubwire/client/opentelemetry` sends the caller's active trace, so
   * the server's span of the call joins it.
   */
  invocationHeaders?: () => Record<string, string> | undefined;
  /** Send cookies cross-origin (browsers). Default true. */
  withCredentials?: boolean;
  /**
   * How long an HTTP request (negotiate, a send over SSE or long polling) may take before it
   * fails; a long poll has its own limit. Default 100 000 ms, as the official client's `timeout`.
   */
  requestTimeoutMs?: number;
  /** Reconnect by itself, including a first start() that fails: true (default policy), a policy, or false. Default true. */
  reconnect?: boolean | RetryPolicy;
  /** Hold sends and calls made while reconnecting and deliver them, in order, once reconnected. Default true. */
  bufferWhileReconnecting?: boolean;
  /** At most this many held; past it a call fails with ERR_BUFFER_FULL. Default 1000. */
  maxBufferedCalls?: number;
  /**
   * Ask for stateful reconnect: when the WebSocket drops, a new one takes over the same
   * connection (same id, groups and calls in flight) and what either side sent meanwhile is sent
   * again. The server must allow it (`allowStatefulReconnects`). Default false.
   */
  statefulReconnect?: boolean;
  /**
   * Bytes of sent messages kept until the server acknowledges them (once a second); past it,
   * calls and sends wait for acknowledgements before they go. Default 100 000.
   */
  statefulReconnectBufferSize?: number;
  /**
   * With stateful reconnect: how long after a drop the client tries to reattach the dropped
   * WebSocket (attempts 0, 1 and 2 s apart, then every 5 s) before it starts a new connection.
   * Set it to the server's `disconnectTimeout` (`Infinity`: until `stop()`). Default 15 000 ms, the
   * server's default.
   */
  reattachWindowMs?: number;
  /** Ping after this long without sending (not on long polling). Default 15 000 ms. */
  keepAliveIntervalMs?: number;
  /** Give up on a server silent for this long (not on long polling). Default 30 000 ms. */
  serverTimeoutMs?: number;
  /**
   * Where the connection reports what happens: handlers and listeners that threw, connections
   * lost, refused or retried; at debug, failures that cost nothing (a ping that could not go).
   * Default: warnings and errors to the console. `silentLogger` for none.
   */
  logger?: Logger;
  /**
   * Supplies the transport instead of negotiating (custom transports, tests). It is called for
   * every connection attempt and must return a transport not yet connected.
   */
  transportFactory?: (events: TransportEvents) => ClientTransport;
}
