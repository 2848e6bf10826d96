import type { ClientInvokeOptions } from "../connection/client-results.js";
import type { HubConnection } from "../connection/hub-connection.js";
import type { CloseMessage } from "../protocol/messages.js";
import type { HandoffPlan, LifetimeHandoff } from "./connection-handoff.js";
import type { RecoveredConnection } from "./connection-recovery.js";
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
  /**
   * Ends every connection of `target` on every server, each sent `close` first (its error, and
   * whether its client may reconnect), whatever its client does with it. It goes as a send of
   * `close` does, in order after the sends before it, and resolves when a send would. Optional:
   * without it, HubContext.connections fails with ERR_CLOSE_NOT_SUPPORTED.
   */
  closeConnections?(target: Target, close: CloseMessage): Promise<void>;
  /**
   * The ids of the connections of `target` (a user's, a group's) on every server, as each server
   * holds them when asked. Optional: without it, ConnectionManager.ofUser and ofGroup,
   * GroupManager.addUserToGroup and removeUserFromGroup fail with ERR_CONNECTION_LOOKUP_NOT_SUPPORTED.
   */
  connectionsOf?(target: Target): Promise<string[]>;
  /** Adds a connection to a group; an unknown connection id is ignored. */
  addToGroup(connectionId: string, groupName: string): Promise<void>;
  removeFromGroup(connectionId: string, groupName: string): Promise<void>;
  /**
   * Calls `method` on one connection and resolves with its answer (a client result). Rejects with
   * the client's error as a HubException, ERR_CONNECTION_NOT_FOUND, ERR_CONNECTION_CLOSED when it
   * disconnects first, ERR_CLIENT_RESULT_TIMEOUT, or the signal's reason.
   */
  invokeConnection(connectionId: string, method: string, args: readonly unknown[], options?: ClientInvokeOptions): Promise<unknown>;
  /** Present when connections can move between servers (a manager over a backplane). */
  readonly moves?: LifetimeMoves;
}

/**
 * Moving a live connection from the server that holds it (the old one) to another (the new one)
 * with nothing sent to it lost or delivered twice (docs/scale-out.md, "Connections survive a
 * server's end"). The steps, in order: `plan` on the old server, `prepare` on the new one,
 * `fence` then at once `release` on the old one, `adopt` (or `abandon`) on the new one.
 */
export interface LifetimeMoves {
  /** Old server: what the new server must listen to for the connection. */
  plan(connection: HubConnection): HandoffPlan;
  /** New server: listens for the connection and keeps what is sent to it until it arrives. */
  prepare(connectionId: string, plan: HandoffPlan): Promise<void>;
  /** Old server: resolves once it has heard every send made before the new server listened. */
  fence(connection: HubConnection, plan: HandoffPlan): Promise<void>;
  /** Old server: why `release` would throw now (a group joined that the plan did not name), or undefined. */
  cannotRelease(connection: HubConnection, plan: HandoffPlan): Error | undefined;
  /**
   * Old server, after `fence` (for hubs that move together, once every one is fenced): forgets
   * the connection and says what it had delivered; throws, having changed nothing, for what
   * `cannotRelease` tells.
   */
  release(connection: HubConnection, plan: HandoffPlan): LifetimeHandoff;
  /** New server: the connection is here; what was kept for it and not delivered there is written to it. */
  adopt(connection: HubConnection, handoff: LifetimeHandoff): void;
  /** New server: the move failed; it stops listening for the connection. */
  abandon(connectionId: string): void;
  /** Old server: the new server was sent the state `release` made (crash recovery's standby may forget the connection now). */
  handedOver?(connectionId: string): void;
  /** A stateful connection here got its client back (crash recovery: one rebuilt here lives on here now). */
  resumed?(connection: HubConnection): void;
  /**
   * Crash recovery: the connection was rebuilt here for a server judged dead that is heard
   * again (it had only paused), and its client never came back here. It lives on there, where
   * its hub's onDisconnected runs (or ran): ending here, it runs none.
   */
  livesElsewhere?(connection: HubConnection): boolean;
  /** New server: whether the server the connection moves from has died, as presence judges it. */
  hasDied?(serverId: string): boolean;
  /**
   * Present when crash recovery is on (ScaleOutSettings.recovery): the hub sets its `reviver`,
   * which rebuilds a connection of a dead server here, suspended, for its client to come back to.
   */
  readonly recovery?:
    | {
        reviver: ((connection: RecoveredConnection) => Promise<void>) | undefined;
        /** See ConnectionMoves.awaitsHolder. */
        awaitsHolder(token: string): boolean;
      }
    | undefined;
}
