import type { SerializedHubMessage } from "../protocol/serialized-message.js";
import type { Target } from "./target.js";

/**
 * What the server taking over a connection is told first (see HubLifetimeManager.moves): what the
 * connection listens to, so it can subscribe before the old server lets go.
 */
export interface HandoffPlan {
  userId?: string | undefined;
  groups: string[];
}

/** What the old server delivered on one channel from one server: see SendSequences. */
export type DeliveredRecord = [origin: string, channel: string, floor: number, seen: number[]];

/**
 * What the old server hands over when it lets go of a connection: the connection's groups then,
 * and what it had delivered to it, so the new server delivers each send it captured meanwhile
 * exactly once.
 */
export interface LifetimeHandoff {
  /** The old server's id: its own sends up to `lastSeq` are in the connection's buffer already. */
  origin: string;
  lastSeq: number;
  groups: string[];
  delivered: DeliveredRecord[];
  /** Crash recovery: the connection's generation on the old server (see CheckpointMessage.generation). */
  generation?: number;
  /**
   * Crash recovery only: empty Completions written before the kept sends, so that none of them
   * takes a sequence id the client already had from the dead server (see ConnectionRecovery).
   */
  gap?: number;
}

/** Sends one incoming connection may collect while it moves; past it, the move fails rather than hold more. */
const maxCaptured = 10_000;

/** What identifies a send, or a group change, that another server published on a channel. */
export interface Numbered {
  origin: string;
  channel: string;
  seq: number | undefined;
}

/** A send captured for an incoming connection, with what identifies it. */
interface Captured extends Numbered {
  message: SerializedHubMessage;
}

/** A group change heard for an incoming connection, with what identifies it. */
interface GroupChange extends Numbered {
  action: "add" | "remove";
  group: string;
}

/** A connection another server still holds, that this server is taking over. */
export class IncomingConnection {
  /** Its groups now; changed only through `join` and `leave`, which keep the index's lookup right. */
  readonly groups = new Set<string>();
  /** Sends to it heard since this server subscribed for it, in order. */
  readonly captured: Captured[] = [];
  /**
   * Group changes for it heard meanwhile, in order. Those the old server had not applied (its
   * delivered records tell) are applied again over its groups at the cut: a change is
   * idempotent, and those it had not applied come after every one it had.
   */
  readonly groupChanges: GroupChange[] = [];
  /** The groups subscribed for it here: every group it was in since the plan. */
  readonly subscribed: Set<string>;
  /** More was sent to it than it may hold (`limit`): the move (or its recovery) fails. */
  overflowed = false;

  constructor(
    readonly connectionId: string,
    readonly userId: string | undefined,
    groups: readonly string[],
    readonly limit = maxCaptured,
    /** The collection it belongs to, told when its groups change. */
    private readonly index?: GroupIndex,
  ) {
    for (const group of groups) this.join(group);
    this.subscribed = new Set(groups);
  }

  private join(group: string): void {
    if (this.groups.has(group)) return;
    this.groups.add(group);
    this.index?.joined(this, group);
  }

  private leave(group: string): void {
    if (!this.groups.delete(group)) return;
    this.index?.left(this, group);
  }

  /** Listens for it in `groups` too (a move's plan), with no change of membership recorded. */
  listenTo(groups: readonly string[]): void {
    for (const group of groups) {
      this.join(group);
      this.subscribed.add(group);
    }
  }

  /** A group change heard for it (its old server applies it too, if it holds it still). */
  groupChanged(action: "add" | "remove", group: string, from: Numbered): void {
    this.groupChanges.push({ ...from, action, group });
    if (action === "add") {
      this.join(group);
      this.subscribed.add(group);
    } else this.leave(group);
  }

  /** Whether a send to `target` reaches this connection. */
  isIn(target: Target): boolean {
    switch (target.kind) {
      case "all":
        return !target.except?.includes(this.connectionId);
      case "connections":
        return target.ids.includes(this.connectionId);
      case "groups":
        return !target.except?.includes(this.connectionId) && target.names.some((name) => this.groups.has(name));
      case "users":
        return this.userId !== undefined && target.ids.includes(this.userId);
    }
  }

  /** The captured sends the old server had not delivered, in the order they were heard. */
  undelivered(handoff: LifetimeHandoff): SerializedHubMessage[] {
    return this.notDelivered(handoff).map(({ message }) => message);
  }

  /**
   * A checkpoint of the connection's server (see ConnectionRecovery): forgets what it says was
   * delivered there, and takes its groups as they were then, with the group changes heard here
   * that it had not applied yet (a checkpoint can come after a change made after it).
   */
  rebase(checkpoint: LifetimeHandoff): void {
    const delivered = deliveredIn(checkpoint);
    const captured = this.captured.filter((send) => !delivered(send));
    this.captured.length = 0;
    this.captured.push(...captured);
    const changes = this.groupChanges.filter((change) => change.seq !== undefined && !delivered(change));
    this.groupChanges.length = 0;
    this.groupChanges.push(...changes);
    const groups = withChanges(checkpoint.groups, changes);
    for (const group of [...this.groups]) if (!groups.has(group)) this.leave(group);
    for (const group of groups) {
      this.join(group);
      this.subscribed.add(group);
    }
    if (this.captured.length < this.limit) this.overflowed = false;
  }

  private notDelivered(handoff: LifetimeHandoff): Captured[] {
    const delivered = deliveredIn(handoff);
    return this.captured.filter((send) => !delivered(send));
  }

  /** The membership at the cut: the old server's, with the changes heard here that it had not applied applied again. */
  groupsAfter(handoff: LifetimeHandoff): Set<string> {
    const delivered = deliveredIn(handoff);
    return withChanges(handoff.groups, this.groupChanges.filter((change) => change.seq === undefined || !delivered(change)));
  }
}

/** `groups` with `changes` applied, in order. */
function withChanges(groups: readonly string[], changes: readonly GroupChange[]): Set<string> {
  const after = new Set(groups);
  for (const { action, group } of changes) {
    if (action === "add") after.add(group);
    else after.delete(group);
  }
  return after;
}

/** Whether a send or group change reached the connection on the old server, by the handoff's records. */
function deliveredIn(handoff: LifetimeHandoff): (numbered: Numbered) => boolean {
  const records = new Map(handoff.delivered.map(([origin, channel, floor, seen]) => [`${origin}\n${channel}`, { floor, seen: new Set(seen) }]));
  return ({ origin, channel, seq }) => {
    if (seq === undefined) return false;
    // Sent by the old server: what it numbered up to the cut reached the connection there.
    if (origin === handoff.origin) return seq <= handoff.lastSeq;
    const record = records.get(`${origin}\n${channel}`);
    return record !== undefined && (seq <= record.floor || record.seen.has(seq));
  };
}

/** Told by an IncomingConnection when its groups change. */
interface GroupIndex {
  joined(incoming: IncomingConnection, group: string): void;
  left(incoming: IncomingConnection, group: string): void;
}

/**
 * The connections this server is taking over from others (moving here, or kept by a standby
 * for crash recovery, which may be thousands), by id, and by user and group: a send looks only
 * at the connections it may reach.
 */
export class IncomingConnections implements GroupIndex {
  private readonly byId = new Map<string, IncomingConnection>();
  private readonly byUser = new Map<string, Set<IncomingConnection>>();
  private readonly byGroup = new Map<string, Set<IncomingConnection>>();

  get size(): number {
    return this.byId.size;
  }

  /** `limit`: sends it may collect (default: a move's bound, 10 000). */
  add(connectionId: string, plan: HandoffPlan, limit?: number): IncomingConnection {
    this.take(connectionId); // one kept here for crash recovery, replaced by its move
    const incoming = new IncomingConnection(connectionId, plan.userId, plan.groups, limit, this);
    this.byId.set(connectionId, incoming);
    if (plan.userId !== undefined) addTo(this.byUser, plan.userId, incoming);
    for (const group of incoming.groups) addTo(this.byGroup, group, incoming);
    return incoming;
  }

  get(connectionId: string): IncomingConnection | undefined {
    return this.byId.get(connectionId);
  }

  /** Forgets it: it arrived, or its move failed. */
  take(connectionId: string): IncomingConnection | undefined {
    const incoming = this.byId.get(connectionId);
    if (!incoming) return undefined;
    this.byId.delete(connectionId);
    if (incoming.userId !== undefined) removeFrom(this.byUser, incoming.userId, incoming);
    for (const group of incoming.groups) removeFrom(this.byGroup, group, incoming);
    return incoming;
  }

  /** Whether a group's channel is subscribed for an incoming connection. */
  hasGroup(group: string): boolean {
    for (const incoming of this.byId.values()) if (incoming.subscribed.has(group)) return true;
    return false;
  }

  hasUser(userId: string): boolean {
    return this.byUser.has(userId);
  }

  /** The ids of the incoming connections `target` reaches. */
  connectionIdsIn(target: Target): string[] {
    const ids: string[] = [];
    for (const incoming of this.reachable(target)) if (incoming.isIn(target)) ids.push(incoming.connectionId);
    return ids;
  }

  joined(incoming: IncomingConnection, group: string): void {
    // Not while it is being made (add indexes it then), nor once it was taken.
    if (this.byId.get(incoming.connectionId) === incoming) addTo(this.byGroup, group, incoming);
  }

  left(incoming: IncomingConnection, group: string): void {
    removeFrom(this.byGroup, group, incoming);
  }

  /** A send heard on `channel` (or made here): kept for every incoming connection it reaches. */
  capture(target: Target, message: SerializedHubMessage, origin: string, channel: string, seq: number | undefined): void {
    for (const incoming of this.reachable(target)) {
      if (incoming.overflowed || !incoming.isIn(target)) continue;
      if (incoming.captured.length >= incoming.limit) incoming.overflowed = true;
      else incoming.captured.push({ origin, channel, seq, message });
    }
  }

  /** The connections a send to `target` may reach, each once (`isIn` then checks the rest). */
  private reachable(target: Target): Iterable<IncomingConnection> {
    switch (target.kind) {
      case "all":
        return this.byId.values();
      case "connections":
        return new Set(target.ids.map((id) => this.byId.get(id)).filter((incoming) => incoming !== undefined));
      case "users":
        return target.ids.length === 1 ? (this.byUser.get(target.ids[0]!) ?? []) : new Set(target.ids.flatMap((id) => [...(this.byUser.get(id) ?? [])]));
      case "groups":
        return target.names.length === 1 ? (this.byGroup.get(target.names[0]!) ?? []) : new Set(target.names.flatMap((name) => [...(this.byGroup.get(name) ?? [])]));
    }
  }
}

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (!set?.delete(value)) return;
  if (set.size === 0) index.delete(key);
}
