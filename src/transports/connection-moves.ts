import type { TransportConnection } from "./transport-connection.js";

/**
 * Moving a suspended stateful connection to the server its client reconnected through, in the
 * order of the calls below (see MovingConnections). `plan` and the state `cut` returns cross the
 * backplane: plain data, encodable as MessagePack.
 */
export interface ConnectionMoves {
  /** Old server: what the new server must know first; undefined when the connection cannot move. */
  plan(connection: TransportConnection): unknown;
  /** New server: gets ready to receive for the connection (it listens for it from now on). */
  prepare(connection: TransportConnection, plan: unknown): Promise<void>;
  /**
   * Old server: lets go of the connection and returns everything the new server needs to go on.
   * Once the connection is ready to let go, and with no wait before it does, `awaited` says
   * whether the new server still waits for it: if not, the cut fails with moveGivenUp() and lets
   * go of nothing.
   */
  cut(connection: TransportConnection, plan: unknown, awaited?: () => boolean): Promise<unknown>;
  /** New server: the connection is here, suspended until its client's new socket takes over. */
  complete(connection: TransportConnection, plan: unknown, state: unknown): void;
  /** New server: the move failed after `prepare`. */
  abandon(connection: TransportConnection, plan: unknown): void;
  /**
   * Old server: the new server was sent what `cut` returned. Until then the connection's crash
   * recovery standby keeps it: a server that dies while it lets go loses nothing it had
   * checkpointed.
   */
  handedOver?(connectionId: string, plan: unknown): void;
  /**
   * New server: true once presence declared the old server, `holder`, dead: its answer will not
   * come. A server that left, or that this one has not heard yet (it just started), has not died.
   */
  holderDied?(holder: string, plan: unknown): boolean;
  /**
   * True while this server is the crash-recovery standby of the connection `token` and has not
   * judged its holder yet, dead or alive: a reconnect for it that no server answers waits here
   * longer than RouterOptions.recoveryWaitMs, since this server's judgement may come late.
   */
  awaitsHolder?(token: string): boolean;
  /** Given once by the router: how the hub takes over here a connection whose server died (crash recovery). */
  attach?(revival: ConnectionRevival): void;
  /** Given once by the server: how the hub takes over here a hub connection of a dead server's multiplexed connection. */
  attachCarriers?(carriers: CarriedRevival): void;
}

/**
 * The moves of connections that move together, in one move (a multiplexed connection's hubs):
 * `cut` in its steps, so that none lets go unless every one can. A connection let go ends on the
 * old server with no onDisconnected, which runs where it arrives: one let go in a move that
 * failed would run it nowhere.
 */
export interface JointMoves extends ConnectionMoves {
  /** Old server: gets the connection ready to let go (its calls settle, the backplane is fenced); lets go of nothing. */
  fence(connection: TransportConnection, plan: unknown): Promise<void>;
  /** Old server: why `letGo` would fail now, or undefined. */
  cannotLetGo(connection: TransportConnection, plan: unknown): Error | undefined;
  /** Old server, after `fence`, with no wait since `cannotLetGo`: lets go of the connection, and returns what `cut` would. */
  letGo(connection: TransportConnection, plan: unknown): unknown;
}

/** A multiplexing endpoint's side of crash recovery: it rebuilds a dead server's multiplexed connection from its hubs. */
export interface CarriedRevival {
  /**
   * Rebuilds one hub of the multiplexed connection `carrier` says (what its checkpoint held of
   * it, see Transport.carried): `rebuild` gives the hub's connection its session. Resolves once
   * the multiplexed connection is held here, with its other hubs, for its client's reconnect.
   */
  reviveHub(carrier: unknown, connectionId: string, identity: string | undefined, rebuild: (connection: TransportConnection) => void): Promise<void>;
}

/** The router's side of crash recovery (see ConnectionMoves.attach). */
export interface ConnectionRevival {
  /**
   * Holds the connection `connectionId` of a server that died here, under its token, suspended
   * as a connection that moved here is; `rebuild` gives it its hub session. It is then findable
   * from every server, for its client's reconnect. Rejects if it is here already.
   */
  revive(connectionId: string, token: string, identity: string | undefined, rebuild: (connection: TransportConnection) => void): Promise<void>;
}
