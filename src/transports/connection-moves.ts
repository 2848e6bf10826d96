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
  /** Old server: lets go of the connection and returns everything the new server needs to go on. */
  cut(connection: TransportConnection, plan: unknown): Promise<unknown>;
  /** New server: the connection is here, suspended until its client's new socket takes over. */
  complete(connection: TransportConnection, plan: unknown, state: unknown): void;
  /** New server: the move failed after `prepare`. */
  abandon(connection: TransportConnection, plan: unknown): void;
}
