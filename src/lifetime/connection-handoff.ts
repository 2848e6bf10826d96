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
  /**
   * Crash recovery only: empty Completions written before the kept sends, so that none of them
   * takes a sequence id the client already had from the dead server (see ConnectionRecovery).
   */
  gap?: number;
}

/** Sends one incoming connection may collect while it moves; past it, the move fails rather than hold more. */
const maxCaptured = 10_000;

/** A send captured for an incoming connection, with what identifies it. */
interface Captured {
  origin: string;
  channel: string;
  seq: number | undefined;
  message: SerializedHubMessage;
}

/** A connection another server still holds, that this server is taking over. */
export class IncomingConnection {
  /** Its groups now; changed only through `join` and `leave`, which keep the index's lookup right. */
  readonly groups = new Set<string>();
  /** Sends to it heard since this server subscribed for it, in order. */
  readonly captured: Captured[] = [];
  /**
   * Group changes for it heard meanwhile, in order. Applied again over the old server's groups
   * at the cut, they give the right membership: a change is idempotent, and those the old
   * server applied too are a prefix the later ones override.
   */
  readonly groupChanges: Array<["add" | "remove", string]> = [];
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
  groupChanged(action: "add" | "remove", group: string): void {
    this.groupChanges.push([action, group]);
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
   * delivered there, and takes its groups as they were then.
   */
  rebase(checkpoint: LifetimeHandoff): void {
    const kept = this.notDelivered(checkpoint);
    this.captured.length = 0;
    this.captured.push(...kept);
    this.groupChanges.length = 0;
    for (const group of [...this.groups]) if (!checkpoint.groups.includes(group)) this.leave(group);
    for (const group of checkpoint.groups) {
      this.join(group);
      this.subscribed.add(group);
    }
    if (this.captured.length < this.limit) this.overflowed = false;
  }

  private notDelivered(handoff: LifetimeHandoff): Captured[] {
    const records = new Map(handoff.delivered.map(([origin, channel, floor, seen]) => [`${origin}\n${channel}`, { floor, seen: new Set(seen) }]));
    return this.captured.filter(({ origin, channel, seq }) => {
      if (seq === undefined) return true;
      // Sent by the old server: what it numbered up to the cut reached the connection there.
      if (origin === handoff.origin) return seq > handoff.lastSeq;
      const record = records.get(`${origin}\n${channel}`);
      return !(record && (seq <= record.floor || record.seen.has(seq)));
    });
  }

  /** The membership at the cut: the old server's, with the changes heard here applied again. */
  groupsAfter(handoff: LifetimeHandoff): Set<string> {
    const groups = new Set(handoff.groups);
    for (const [action, group] of this.groupChanges) {
      if (action === "add") groups.add(group);
      else groups.delete(group);
    }
    return groups;
  }
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
