import type { HubConnection } from "../connection/hub-connection.js";
import { MessageType } from "../protocol/messages.js";
import { SerializedHubMessage } from "../protocol/serialized-message.js";
import { HubwireError } from "../errors.js";
import { IncomingConnections, type HandoffPlan, type LifetimeHandoff } from "./connection-handoff.js";
import type { LifetimeMoves } from "./hub-lifetime-manager.js";
import { deliverTo, type InMemoryLifetimeManager } from "./in-memory-lifetime-manager.js";
import type { ConnectionRecovery } from "./connection-recovery.js";
import type { SendSequences } from "./send-sequences.js";

/** What ScaleOutMoves needs of the scale-out manager it serves. */
export interface MovesHost {
  readonly serverId: string;
  readonly local: InMemoryLifetimeManager;
  /** Forgets a connection here; returns the channels nothing here needs any more. `movedAway`: see handedOver. */
  leave(connection: HubConnection, movedAway?: boolean): string[];
  /** Its standby (crash recovery) may forget the connection: it is another server's now. */
  released(connectionId: string): void;
  /** Whether presence declared `serverId` dead and has not heard it since (one never heard, or that left, has not died). */
  hasDied(serverId: string): boolean;
  readonly delivered: SendSequences;
  /** The number of this server's last send. */
  lastSeq(): number;
  /** Whether the backplane takes messages now (the outbox is open). */
  reachable(): boolean;
  channel(kind: "all" | "connection" | "group" | "user", name?: string): string;
  subscribeConnection(connectionId: string): Promise<void>;
  /** A group's or a user's channel. */
  subscribeMembers(kind: "group" | "user", name: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Publishes a fence of this server on `channel`. */
  publishFence(channel: string, fenceId: number): Promise<unknown>;
  /** How long a fence may take to come back. */
  readonly fenceTimeout: number;
}

/** A fence this server published and waits to hear back on every channel. */
interface Fence {
  channels: Set<string>;
  resolve(): void;
}

/**
 * Moves connections between the servers of a hub (see LifetimeMoves). The new server subscribes
 * the connection's channels and keeps every send to it. The old server then publishes a fence on
 * each of those channels and waits to hear them all back: a channel delivers in order, so by then
 * it has heard every send made before the new server listened. At once, with no wait, it lets go
 * and hands over what it delivered from each server on each channel (their send numbers, see
 * SendSequences). The new server delivers what it kept that is not in that record; its own sends
 * and the old server's count by their numbers too. Each send thus reaches the connection once.
 */
export class ScaleOutMoves implements LifetimeMoves {
  readonly incoming = new IncomingConnections();
  /** Connections prepared for here and not yet arrived or abandoned: their records are the moves'. */
  private readonly movingHere = new Set<string>();
  /** Crash recovery, when on: the hub sets its `reviver`. */
  recovery: ConnectionRecovery | undefined;
  private readonly fences = new Map<number, Fence>();
  private nextFence = 0;

  constructor(private readonly host: MovesHost) {}

  plan(connection: HubConnection): HandoffPlan {
    return { userId: connection.userIdentifier, groups: this.host.local.groupsOf(connection.connectionId) };
  }

  /** New server: a move of the connection here begins. */
  async prepare(connectionId: string, plan: HandoffPlan): Promise<void> {
    const subscribe = this.unheard(plan);
    this.movingHere.add(connectionId);
    const kept = this.incoming.get(connectionId);
    if (kept && this.recovery?.keeps(connectionId)) {
      // Kept here for crash recovery (see ConnectionRecovery) and now moving here: the move
      // shares that record (the sends it holds since the last checkpoint count for the move
      // too), so a move that fails because the holder died leaves the connection recoverable.
      kept.listenTo(plan.groups);
    } else {
      const added = this.incoming.add(connectionId, plan);
      if (kept) for (const group of kept.subscribed) added.subscribed.add(group);
    }
    await this.listen(connectionId, subscribe);
  }

  /** Crash recovery's standby: keeps the sends to another server's connection, up to `limit` (see ConnectionRecovery). */
  async keep(connectionId: string, plan: HandoffPlan, limit: number): Promise<void> {
    const subscribe = this.unheard(plan);
    this.incoming.add(connectionId, plan, limit);
    await this.listen(connectionId, subscribe);
  }

  /** The user and groups of `plan` whose channels nothing here listens to yet; throws while the backplane is away. */
  private unheard(plan: HandoffPlan): { userId: string | undefined; groups: string[] } {
    const { host, incoming } = this;
    if (!host.reachable()) throw unreachable();
    const { userId } = plan;
    const user = userId !== undefined && !host.local.hasUser(userId) && !incoming.hasUser(userId);
    const groups = plan.groups.filter((group) => !host.local.hasGroup(group) && !incoming.hasGroup(group));
    return { userId: user ? userId : undefined, groups };
  }

  private async listen(connectionId: string, { userId, groups }: { userId: string | undefined; groups: string[] }): Promise<void> {
    const { host } = this;
    await Promise.all([
      host.subscribeConnection(connectionId),
      userId !== undefined ? host.subscribeMembers("user", userId) : undefined,
      ...groups.map((group) => host.subscribeMembers("group", group)),
    ]);
  }

  async fence(connection: HubConnection, plan: HandoffPlan): Promise<void> {
    const { host } = this;
    const channels = this.channelsOf(connection.connectionId, plan.userId, plan.groups);
    const fenceId = this.nextFence++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.fences.set(fenceId, { channels: new Set(channels), resolve });
        timer = setTimeout(() => reject(new HubwireError("ERR_BACKPLANE_TIMEOUT", `A fence did not come back within ${host.fenceTimeout} ms.`)), host.fenceTimeout);
        for (const channel of channels) host.publishFence(channel, fenceId).catch(() => reject(unreachable()));
      });
    } finally {
      clearTimeout(timer);
      this.fences.delete(fenceId);
    }
  }

  /** A fence heard on `channel`; only this server's own count. */
  fenceHeard(origin: string, fenceId: number, channel: string): void {
    if (origin !== this.host.serverId) return;
    const fence = this.fences.get(fenceId);
    if (fence?.channels.delete(channel) && fence.channels.size === 0) fence.resolve();
  }

  cannotRelease(connection: HubConnection, plan: HandoffPlan): HubwireError | undefined {
    // A group joined since the plan was not fenced, and the new server does not listen to it.
    const unplanned = this.host.local.groupsOf(connection.connectionId).find((group) => !plan.groups.includes(group));
    return unplanned === undefined ? undefined : new HubwireError("ERR_CONNECTION_MOVE_FAILED", `The connection joined group '${unplanned}' while it moved.`);
  }

  release(connection: HubConnection, plan: HandoffPlan): LifetimeHandoff {
    const refusal = this.cannotRelease(connection, plan);
    if (refusal) throw refusal;
    const { host } = this;
    const { connectionId } = connection;
    const groups = host.local.groupsOf(connectionId);
    const channels = this.channelsOf(connectionId, connection.userIdentifier, groups);
    const handoff: LifetimeHandoff = { origin: host.serverId, lastSeq: host.lastSeq(), groups, delivered: host.delivered.records(channels), generation: this.recovery?.generation(connectionId) };
    for (const channel of host.leave(connection, true)) void host.unsubscribe(channel);
    return handoff;
  }

  /** Whether a move of the connection to this server is under way (its record is the move's to let go of). */
  isMovingHere(connectionId: string): boolean {
    return this.movingHere.has(connectionId);
  }

  /** New server: whether the server the connection moves from has died, as presence judges it. */
  hasDied(serverId: string): boolean {
    return this.host.hasDied(serverId);
  }

  /** See LifetimeMoves.resumed. */
  resumed(connection: HubConnection): void {
    this.recovery?.resumed(connection.connectionId);
  }

  /** See LifetimeMoves.livesElsewhere. */
  livesElsewhere(connection: HubConnection): boolean {
    return this.recovery?.livesElsewhere(connection.connectionId) ?? false;
  }

  /** Old server: the new server was sent the state `release` made; the connection's standby may forget it now. */
  handedOver(connectionId: string): void {
    this.host.released(connectionId);
  }

  adopt(connection: HubConnection, handoff: LifetimeHandoff): void {
    const { host } = this;
    const { connectionId } = connection;
    const incoming = this.incoming.get(connectionId);
    if (!incoming) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", `Connection '${connectionId}' was not prepared for.`);
    if (incoming.overflowed) {
      this.abandon(connectionId);
      throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", `Too much was sent to connection '${connectionId}' while it moved.`);
    }
    const groups = incoming.groupsAfter(handoff);
    this.movingHere.delete(connectionId);
    this.incoming.take(connectionId);
    this.recovery?.arrived(connectionId, handoff);
    void host.local.onConnected(connection);
    for (const group of groups) {
      if (!incoming.subscribed.has(group) && !host.local.hasGroup(group) && !this.incoming.hasGroup(group)) void host.subscribeMembers("group", group);
      host.local.addToGroup(connectionId, group).catch(() => {}); // within the old server's bound already
    }
    this.unsubscribeUnused(incoming.subscribed);
    for (let i = 0; i < (handoff.gap ?? 0); i++) connection.writeSerialized(gapFiller);
    for (const message of incoming.undelivered(handoff)) deliverTo([connection], message);
  }

  abandon(connectionId: string): void {
    this.movingHere.delete(connectionId);
    // A record recovery shares (see prepare) stays, listening, for a recovery of the connection.
    if (this.recovery?.keeps(connectionId)) return;
    const incoming = this.incoming.take(connectionId);
    if (!incoming) return;
    const { host } = this;
    if (!host.local.has(connectionId)) void host.unsubscribe(host.channel("connection", connectionId));
    const { userId } = incoming;
    if (userId !== undefined && !host.local.hasUser(userId) && !this.incoming.hasUser(userId)) void host.unsubscribe(host.channel("user", userId));
    this.unsubscribeUnused(incoming.subscribed);
  }

  /** Subscribes the channels of `groups` that nothing here listens to yet, for an incoming connection that is in them now. */
  async subscribeGroups(connectionId: string, groups: readonly string[]): Promise<void> {
    const incoming = this.incoming.get(connectionId);
    if (!incoming) return;
    const { host } = this;
    const fresh = groups.filter((group) => !incoming.subscribed.has(group) && !host.local.hasGroup(group) && !this.incoming.hasGroup(group));
    for (const group of groups) incoming.subscribed.add(group);
    await Promise.all(fresh.map((group) => host.subscribeMembers("group", group)));
  }

  /** Lets go of the channels of `groups` that no connection here, arrived or incoming, is in. */
  private unsubscribeUnused(groups: Iterable<string>): void {
    const { host } = this;
    for (const group of groups) {
      if (!host.local.hasGroup(group) && !this.incoming.hasGroup(group)) void host.unsubscribe(host.channel("group", group));
    }
  }

  private channelsOf(connectionId: string, userId: string | undefined, groups: readonly string[]): string[] {
    const { host } = this;
    const channels = [host.channel("all"), host.channel("connection", connectionId), ...groups.map((group) => host.channel("group", group))];
    if (userId !== undefined) channels.push(host.channel("user", userId));
    return channels;
  }
}

/**
 * A Completion of no call: clients ignore it, but count it as a message of stateful reconnect's
 * sequence (see LifetimeHandoff.gap). Client invocation ids are numbers; this one never is.
 */
const gapFiller = new SerializedHubMessage({ type: MessageType.Completion, invocationId: "gap", hasResult: false });

function unreachable(): HubwireError {
  return new HubwireError("ERR_BACKPLANE_UNAVAILABLE", "The backplane is unreachable: the connection cannot move now.");
}
