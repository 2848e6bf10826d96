import { HubwireError } from "../errors.js";
import type { HandoffPlan } from "../lifetime/connection-handoff.js";
import type { LifetimeMoves } from "../lifetime/hub-lifetime-manager.js";
import type { RecoveredConnection } from "../lifetime/connection-recovery.js";
import type { CarriedRevival, ConnectionRevival, JointMoves } from "../transports/connection-moves.js";
import { moveGivenUp } from "../transports/moving-connections.js";
import type { TransportConnection } from "../transports/transport-connection.js";
import { ConnectionSession, type SessionHandoff } from "./connection-session.js";
import type { HubRuntime } from "./hub-runtime.js";

/** How long a moving connection's calls may go on before they are cancelled (their results move with it). */
const settleMs = 5_000;

/**
 * A hub's side of moving a stateful connection between servers (ConnectionMoves for the
 * transport layer): the session and its buffer here, the groups and sends in the lifetime
 * manager. The plan and the handoff cross the backplane, which is as trusted as the servers;
 * their shape is checked all the same, so a stray message fails the move and nothing else.
 */
export class HubMoves implements JointMoves {
  /** The server's multiplexing endpoints, which rebuild the hub's connections that travelled in a dead server's multiplexed connection. */
  private carriers: CarriedRevival | undefined;

  constructor(
    private readonly runtime: HubRuntime,
    private readonly lifetime: LifetimeMoves,
  ) {}

  plan(transport: TransportConnection): HandoffPlan | undefined {
    const session = this.runtime.sessions.get(transport);
    return session?.movable ? this.lifetime.plan(session.connection) : undefined;
  }

  async prepare(transport: TransportConnection, plan: unknown): Promise<void> {
    const { userId, groups } = handoffPlan(plan);
    transport.userId = userId;
    await this.lifetime.prepare(transport.connectionId, { userId, groups });
  }

  async cut(transport: TransportConnection, plan: unknown, awaited?: () => boolean): Promise<SessionHandoff> {
    await this.fence(transport, plan);
    // Checked with no wait before letting go: a connection let go after its new server gave up would be lost.
    if (awaited && !awaited()) throw moveGivenUp();
    return this.letGo(transport, plan);
  }

  async fence(transport: TransportConnection, plan: unknown): Promise<void> {
    await this.movableSession(transport).readyToMove(handoffPlan(plan), this.lifetime, settleMs);
  }

  cannotLetGo(transport: TransportConnection, plan: unknown): Error | undefined {
    const session = this.runtime.sessions.get(transport);
    return session ? session.cannotLetGo(handoffPlan(plan), this.lifetime) : ended();
  }

  letGo(transport: TransportConnection, plan: unknown): SessionHandoff {
    const session = this.runtime.sessions.get(transport);
    if (!session) throw ended();
    const handoff = session.letGo(handoffPlan(plan), this.lifetime);
    this.runtime.telemetry?.connectionMoved(false);
    return handoff;
  }

  private movableSession(transport: TransportConnection): ConnectionSession {
    const session = this.runtime.sessions.get(transport);
    if (!session?.movable) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection ended before it could move.");
    return session;
  }

  complete(transport: TransportConnection, _plan: unknown, state: unknown): void {
    const session = ConnectionSession.movedIn(this.runtime, transport, sessionHandoff(state), this.lifetime);
    this.runtime.adopt(session);
    this.runtime.telemetry?.connectionMoved(true);
  }

  abandon(transport: TransportConnection): void {
    this.lifetime.abandon(transport.connectionId);
  }

  handedOver(connectionId: string): void {
    this.lifetime.handedOver?.(connectionId);
  }

  holderDied(holder: string): boolean {
    return this.lifetime.hasDied?.(holder) ?? false;
  }

  awaitsHolder(token: string): boolean {
    return this.lifetime.recovery?.awaitsHolder(token) ?? false;
  }

  attach(revival: ConnectionRevival): void {
    const { recovery } = this.lifetime;
    if (recovery) recovery.reviver = (recovered) => this.revive(revival, recovered);
  }

  attachCarriers(carriers: CarriedRevival): void {
    this.carriers = carriers;
  }

  /** Crash recovery: a connection of a dead server, rebuilt here from its last checkpoint. */
  private revive(revival: ConnectionRevival, recovered: RecoveredConnection): Promise<void> {
    const { connectionId, token, identity, userId, protocol, buffer, lifetime, carrier, items } = recovered;
    const rebuild = (transport: TransportConnection): void => {
      transport.userId = userId;
      const session = ConnectionSession.movedIn(this.runtime, transport, sessionHandoff({ protocol, buffer, lifetime, items }), this.lifetime);
      this.runtime.adopt(session);
      // Active here from now on, as one that moved here is: it ends here, and is counted out here.
      this.runtime.telemetry?.connectionMoved(true);
    };
    // A hub of a multiplexed connection: its client comes back to that connection, not to the hub's own endpoint.
    if (carrier !== undefined) {
      if (!this.carriers) return Promise.reject(new HubwireError("ERR_CONNECTION_NOT_RECOVERED", "No multiplexing endpoint is mapped here."));
      return this.carriers.reviveHub(carrier, connectionId, identity, rebuild);
    }
    return revival.revive(connectionId, token, identity, rebuild);
  }
}

function handoffPlan(value: unknown): HandoffPlan {
  const plan = value as Partial<HandoffPlan> | null;
  const groups = plan?.groups;
  const userId = plan?.userId ?? undefined;
  if (!Array.isArray(groups) || !groups.every((group) => typeof group === "string") || (userId !== undefined && typeof userId !== "string")) {
    throw malformed();
  }
  return { userId, groups };
}

function sessionHandoff(value: unknown): SessionHandoff {
  const state = value as Partial<SessionHandoff> | null;
  const buffer = state?.buffer;
  const lifetime = state?.lifetime;
  if (typeof state?.protocol !== "string" || !Array.isArray(buffer?.unacked) || typeof lifetime?.origin !== "string" || !Array.isArray(lifetime.delivered)) {
    throw malformed();
  }
  return state as SessionHandoff;
}

function ended(): HubwireError {
  return new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection ended while it moved.");
}

function malformed(): HubwireError {
  return new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection's old server sent a handoff hubwire cannot read.");
}
