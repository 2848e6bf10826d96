import type { HubProtocol } from "../protocol/hub-protocol.js";
import type { Logger } from "../logger.js";
import type { Backplane } from "./backplane.js";
import type { OutboxCounts } from "./backplane-outbox.js";
import type { RecoveryCounts } from "./connection-recovery.js";
import type { ScaleOutSettings } from "./scale-out-settings.js";

/** See ScaleOutLifetimeManager.stats. */
export interface ScaleOutStats extends OutboxCounts {
  /** Messages, and their bytes, waiting in the outbox or in flight. */
  waiting: { messages: number; bytes: number };
  /** How long the oldest of them has waited, in ms (0 when none waits): the outbox's delivery lag. */
  lagMs: number;
  /** Messages received from the other servers (their heartbeats not included). */
  received: number;
  /** Messages sent again to servers whose own link to the backplane dropped (see docs/scale-out.md). */
  resent: number;
  /** Messages other servers sent again to this one after its own link dropped, for channels it listens to (copies of what it had included). */
  replayed: number;
  /** With `recovery` on: the connections of other servers kept here, and those of dead servers recovered here or not. */
  recovery?: RecoveryCounts;
}

export interface ScaleOutOptions {
  /** Servers that share a hub name share its connections, groups and users. */
  hubName: string;
  backplane: Backplane;
  /** The hub's protocols: a send is encoded once in each, here, for every server. */
  protocols: readonly HubProtocol[];
  logger: Logger;
  /** The hub's client result timeout, for results asked of a connection on another server. */
  clientResultTimeout: number;
  /** How long a group change for a connection on another server waits for its ack. Default 10 000 ms. */
  ackTimeout?: number;
  /** Groups one connection of this server may be in (see InMemoryLifetimeManager). Default 1 000. */
  maximumGroupsPerConnection?: number;
  /** Bounds of the outbox and the presence heartbeat (see ScaleOutSettings). */
  settings?: ScaleOutSettings;
  /**
   * This server's id in the cluster, the same for all its hubs and endpoints (a multiplexed
   * connection's hubs pick one standby by it, and a move asks presence about its old server by
   * it). Random when absent.
   */
  serverId?: string;
}
