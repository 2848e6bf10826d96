import type { LogWriter } from "../logger.js";
import type { AdmissionCheck } from "./connection-admission.js";
import type { ConnectionHandler } from "./connection-endpoint.js";
import type { ConnectionMoves } from "./connection-moves.js";
import type { TransportName } from "./transport.js";

// What the multiplexed connections of an endpoint are given and share (see MultiplexedConnection).

/** A hub endpoint as a multiplexed connection opens it: the same admission and handler as its own HTTP endpoint. */
export interface ChannelEndpoint {
  admit: AdmissionCheck;
  handler: ConnectionHandler;
  transports: readonly TransportName[];
  maxBufferedBytes: number;
  /** The hub keeps what it sends for a replay when its client asked for stateful reconnect. */
  allowStatefulReconnects: boolean;
  /** Present when the hub's connections can move between servers (a hub over a backplane). */
  moves?: ConnectionMoves | undefined;
}

/**
 * A multiplexed connection that moved here from another server (see MultiplexMoves): its
 * format and channel count, and the channels its client had open there that did not come with it.
 */
export interface MovedMultiplex {
  binary: boolean;
  highestChannel: number;
  /** Told `close` once the client's socket is back, so their hubs reopen anew. */
  dropped: number[];
}

/**
 * The envelope of the last broadcast: pages that open their hubs in the same order have each
 * hub on the same channel, so a broadcast to a hub wraps its message once for all of them.
 * For transports that take envelopes as data (Server-Sent Events, long polling); a WebSocket
 * keeps the last broadcast's whole frame itself.
 */
export interface SharedEnvelope {
  data: string | Uint8Array | undefined;
  channel: number;
  binary: boolean;
  envelope: string | Uint8Array;
}

/** What every multiplexed connection of an endpoint shares. */
export interface MultiplexSettings {
  /** The hub mapped at a path, or undefined. */
  resolve(path: string): ChannelEndpoint | undefined;
  maximumHubsPerConnection: number;
  keepAliveIntervalMs: number;
  clientTimeoutMs: number;
  log: LogWriter;
}
