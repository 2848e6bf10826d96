import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import type { HubConnectionOptions } from "./connection-options.js";

/** How a `HubMultiplexer` connects, reconnects and stays alive; every hub on it shares these. */
export type HubMultiplexerOptions = Pick<
  HubConnectionOptions,
  "transports" | "accessTokenFactory" | "headers" | "withCredentials" | "requestTimeoutMs" | "reconnect" | "keepAliveIntervalMs" | "serverTimeoutMs" | "logger" | "statefulReconnect" | "reattachWindowMs" | "authenticationRefresh"
> & {
  /**
   * The hubs' protocol unless a hub names its own. A binary one (MessagePack) makes the shared
   * connection binary, which carries hubs of either protocol (not on Server-Sent Events, which
   * carry text); a text one (JSON, the default) carries JSON hubs only.
   */
  protocol?: HubProtocol;
};

/**
 * What one hub of a multiplexer may choose for itself. `statefulReconnect` (default: the
 * multiplexer's) lets a hub of a stateful multiplexer go without: it then starts anew after a drop.
 */
export type MultiplexedHubOptions = Pick<
  HubConnectionOptions,
  "protocol" | "invocationHeaders" | "bufferWhileReconnecting" | "maxBufferedCalls" | "statefulReconnect" | "statefulReconnectBufferSize"
>;
