import type { ClientInvokeOptions } from "../connection/client-results.js";
import type { HubConnection } from "../connection/hub-connection.js";
import type { Target } from "./target.js";

/**
 * Who receives what: the connections of one hub, their groups and users. The in-memory manager
 * serves one process; a scale-out manager implements the same contract over a backplane.
 */
export interface HubLifetimeManager {
  onConnected(connection: HubConnection): Promise<void>;
  /** Forgets the connection and its group memberships. */
  onDisconnected(connection: HubConnection): Promise<void>;
  /**
   * Calls `method` with `args` on every connection of `target`, each at most once. Resolves once
   * the message is handed to the transports; a broken or slow socket never fails it.
   */
  send(target: Target, method: string, args: readonly unknown[]): Promise<void>;
  /** Adds a connection to a group; an unknown connection id is ignored. */
  addToGroup(connectionId: string, groupName: string): Promise<void>;
  removeFromGroup(connectionId: string, groupName: string): Promise<void>;
  /**
   * Calls `method` on one connection and resolves with its answer (a client result). Rejects with
   * the client's error as a HubException, ERR_CONNECTION_NOT_FOUND, ERR_CONNECTION_CLOSED when it
   * disconnects first, ERR_CLIENT_RESULT_TIMEOUT, or the signal's reason.
   */
  invokeConnection(connectionId: string, method: string, args: readonly unknown[], options?: ClientInvokeOptions): Promise<unknown>;
}
