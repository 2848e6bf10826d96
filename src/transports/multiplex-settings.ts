import type { LogWriter } from "../logger.js";
import type { AdmissionCheck } from "./connection-admission.js";
import type { ConnectionHandler } from "./connection-endpoint.js";
import type { JointMoves } from "./connection-moves.js";
import type { TransportName } from "./transport.js";

// What the multiplexed connections of an endpoint are given and share (see MultiplexedConnection).

/** A hub endpoint as a multiplexed connection opens it: the same admission and handler as its own HTTP endpoint. */
export interface ChannelEndpoint {
  admit: AdmissionCheck;
  handler: ConnectionHandler;
  transports: readonly TransportName[];
  maxBufferedBytes: number;
  /** The hub's maximumReceiveMessageSize (null: none): also what its client may send before the hub is open. */
  maxMessageBytes: number | null;
  /** The hub keeps what it sends for a replay when its client asked for stateful reconnect. */
  allowStatefulReconnects: boolean;
  /** Present when the hub's connections can move between servers (a hub over a backplane). */
  moves?: JointMoves | undefined;
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
  /** Rebuilt by crash recovery: a hub its client opened after the last checkpoint is told `close` too. */
  recovered?: boolean;
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
  /** The endpoint's path (a dead server's connection is rebuilt at the same one elsewhere). */
  path: string;
  /**
   * With crash recovery: how long a standby waits for every stateful hub of a dead server's
   * multiplexed connection before it holds the connection with those that came.
   */
  recoveryWaitMs?: number | undefined;
  /** The hub mapped at a path, or undefined. */
  resolve(path: string): ChannelEndpoint | undefined;
  /** Whether a hub here is the crash-recovery standby of a hub of the multiplexed connection `token` (see ConnectionMoves.awaitsHolder). */
  awaitsHolder?(token: string): boolean;
  maximumHubsPerConnection: number;
  /** The endpoint serves `<path>/refresh` (MultiplexerOptions.authenticationRefresh): `opened` says how long a hub's token lasts. */
  authenticationRefresh?: boolean;
  keepAliveIntervalMs: number;
  clientTimeoutMs: number;
  log: LogWriter;
}

/**
 * What crash recovery keeps of a multiplexed connection with each of its stateful hubs'
 * checkpoints (see Transport.carried): the standby rebuilds the connection from them.
 */
export interface CarriedHub {
  /** The multiplexing endpoint's path. */
  path: string;
  connectionId: string;
  token: string;
  identity?: string;
  binary: boolean;
  highestChannel: number;
  /** This hub's channel, path and format. */
  channel: number;
  hubPath: string;
  text: boolean;
  /** The channels of the connection's stateful hubs then: the standby waits for each. */
  stateful: number[];
}
