import { createHash } from "node:crypto";
import type { MessageBufferState } from "../connection/movable-message-buffer.js";
import type { HubConnection } from "../connection/hub-connection.js";
import { HubwireError } from "../errors.js";
import type { LogWriter } from "../logger.js";
import type { BackplaneMessage, CheckpointMessage, GroupedMessage, ReleasedMessage } from "./backplane-messages.js";
import type { IncomingConnection, LifetimeHandoff } from "./connection-handoff.js";
import type { InMemoryLifetimeManager } from "./in-memory-lifetime-manager.js";
import { lifetimeLog } from "./lifetime-log.js";
import type { ScaleOutMoves } from "./scale-out-moves.js";
import type { SendSequences } from "./send-sequences.js";

/** A connection whose server died, as its standby rebuilds it (see LifetimeMoves.reviver). */
export interface RecoveredConnection {
  connectionId: string;
  token: string;
  identity: string | undefined;
  userId: string | undefined;
  protocol: string;
  buffer: MessageBufferState;
  /** What the dead server had delivered at its last checkpoint; the standby writes what it kept beyond it. */
  lifetime: LifetimeHandoff;
  /** A hub of a multiplexed connection: see CheckpointMessage.carrier. */
  carrier?: unknown;
  /** Its items as of the last checkpoint (see CheckpointMessage.items). */
  items?: unknown;
}

/** What ConnectionRecovery needs of the scale-out manager it serves. */
export interface RecoveryHost {
  readonly serverId: string;
  readonly hubName: string;
  readonly local: InMemoryLifetimeManager;
  readonly moves: ScaleOutMoves;
  readonly delivered: SendSequences;
  readonly log: LogWriter;
  /** The number of this server's last send. */
  lastSeq(): number;
  /** Numbers a message as this server's next send. */
  nextSeq(): number;
  /** The other live servers of the hub. */
  peers(): Iterable<string>;
  /** The last heartbeat heard of the live server `serverId`; undefined for one not live. */
  lastHeartbeat(serverId: string): { at: number; hearsItselfSince: number | undefined } | undefined;
  channel(kind: "all" | "connection" | "group" | "user" | "server", name?: string): string;
  /** Publishes through the outbox, in order after this server's sends. */
  publish(channel: string, message: BackplaneMessage): void;
}

/** How recovery runs: the heartbeat interval, and the sends one standby keeps per connection. */
export interface RecoveryTimes {
  readonly interval: number;
  readonly serverTimeout: number;
  readonly maxMessages: number;
}

/** What the standby keeps of one connection of another server. */
interface Kept {
  holder: string;
  incoming: IncomingConnection;
  checkpoint: CheckpointMessage | undefined;
  /** Its channels are subscribed here. */
  listening: boolean;
  /** Checkpoints heard since then: the second is the first one surely made after this server listened. */
  checkpointsSince: number;
  /** When its last checkpoint came. */
  heardAt: number;
  /** The most messages its holder wrote to it between two checkpoints, lately (see `promote`). */
  burst: number;
}

/** See ScaleOutStats.recovery. */
export interface RecoveryCounts {
  /** Connections of other servers this server keeps now, as their standby. */
  kept: number;
  /** Of those, the ones it could take over now if their server died: it holds a checkpoint made surely after it listened. */
  recoverable: number;
  /** Connections of dead servers this server took over. */
  recovered: number;
  /** Connections of dead servers that could not be recovered (past the bounds, or not checkpointed yet). */
  lost: number;
}

/**
 * Crash recovery of stateful connections (docs/scale-out.md, "A crashed server"). Every
 * heartbeat interval, the server that holds a stateful connection sends a checkpoint of it
 * (protocol, stateful reconnect's buffer, user, groups, and what it delivered on the
 * connection's channels, see SendSequences) to one other live server, its standby, chosen by
 * rendezvous hashing of the connection id. The standby subscribes the connection's channels and
 * keeps every send to it, as a server does for a connection moving to it (IncomingConnection),
 * and forgets, at each checkpoint, what the checkpoint says was delivered. When presence
 * declares the holder dead, the standby rebuilds the connection from the last checkpoint,
 * suspended, and writes after its buffer what it kept: the client's reconnect, through any
 * server, finds it there and resumes or moves as after a drain.
 */
export class ConnectionRecovery {
  /** Connections of other servers kept here, by id. */
  private readonly kept = new Map<string, Kept>();
  /** The ids of the kept connections, by the token their client reconnects with (a multiplexed hub's is its connection's): see awaitsHolder. */
  private readonly idsByToken = new Map<string, Set<string>>();
  /** Connections being rebuilt here now: their records stay until the rebuilt connection takes them. */
  private readonly reviving = new Set<string>();
  /**
   * The generation of each connection of this server that came from another (moved or
   * recovered here), for its checkpoints; none for one that started here (see
   * CheckpointMessage.generation).
   */
  private readonly generations = new Map<string, number>();
  /** The standby each connection of this server was checkpointed to last. */
  private readonly standbys = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private recovered = 0;
  private lost = 0;
  /** Set by the hub: rebuilds a recovered connection and holds it for its client. */
  reviver: ((connection: RecoveredConnection) => Promise<void>) | undefined;
  /**
   * Connections rebuilt here whose client has not come back here yet, with the server judged
   * dead that held them: it may only have paused, and hold them still (see heldTwice).
   */
  private readonly awaitingClient = new Map<string, string>();

  constructor(
    private readonly host: RecoveryHost,
    private readonly times: RecoveryTimes,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.times.interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get counts(): RecoveryCounts {
    let recoverable = 0;
    for (const kept of this.kept.values()) if (kept.checkpoint && kept.checkpointsSince >= 2) recoverable++;
    return { kept: this.kept.size, recoverable, recovered: this.recovered, lost: this.lost };
  }

  /**
   * Whether the connection's record of sends (its IncomingConnection) is this recovery's: kept
   * for its holder's death, or being rebuilt from it. A move to this server shares it, and one
   * that fails leaves it here (see ScaleOutMoves.prepare).
   */
  keeps(connectionId: string): boolean {
    const kept = this.kept.get(connectionId);
    if (kept) return this.host.moves.incoming.get(connectionId) === kept.incoming;
    return this.reviving.has(connectionId);
  }

  /** The connection arrived here (moved, or rebuilt) and took the record: nothing of it is kept any more. */
  arrived(connectionId: string, handoff: LifetimeHandoff): void {
    this.drop(connectionId);
    this.generations.set(connectionId, generationOf(handoff) + 1);
  }

  /** Holder: the generation of one of this server's connections, for a move away (see CheckpointMessage.generation). */
  generation(connectionId: string): number | undefined {
    return this.generations.get(connectionId);
  }

  /**
   * Whether this server keeps the connection `token` as its standby: it has not yet rebuilt it
   * (its holder declared dead) nor forgotten it (its holder alive without it). A reconnect for
   * it that no server answers waits here (see ConnectionMoves.awaitsHolder): this server's
   * presence, deaf a while, judges again only a `serverTimeout` after it hears itself.
   */
  awaitsHolder(token: string): boolean {
    return this.idsByToken.has(token);
  }

  /** Holder: a connection of this server ended or moved away; its standby forgets it. */
  released(connectionId: string): void {
    this.generations.delete(connectionId);
    this.awaitingClient.delete(connectionId);
    const standby = this.standbys.get(connectionId);
    if (standby === undefined) return;
    this.standbys.delete(connectionId);
    this.sendReleased(standby, connectionId);
  }

  /**
   * Holder: this server's hub changed a group of one of its connections. Its standby hears of
   * it now, not at the next checkpoint: a crash before that would lose the change.
   */
  grouped(connectionId: string, action: "add" | "remove", group: string): void {
    const standby = this.standbys.get(connectionId);
    if (standby === undefined) return;
    const { host } = this;
    host.publish(host.channel("server", standby), { kind: "grouped", origin: host.serverId, connectionId, action, group, seq: host.nextSeq() });
  }

  /**
   * Whether a connection here was rebuilt for a server judged dead and its client has not come
   * back here: that server may only have paused, with the client still on its own copy. A send
   * to it from this server then goes through the backplane too, so that copy has it.
   */
  heldTwice(connectionId: string): boolean {
    return this.awaitingClient.has(connectionId);
  }

  /**
   * Whether a connection here was rebuilt for a server judged dead that is heard again, and its
   * client never came back here: it lives on there, its client on that server's copy (or it
   * ended there, its onDisconnected run), so this copy ends with no onDisconnected.
   */
  livesElsewhere(connectionId: string): boolean {
    const holder = this.awaitingClient.get(connectionId);
    return holder !== undefined && this.host.lastHeartbeat(holder) !== undefined;
  }

  /** A connection here got its client back: if it was rebuilt here, this copy is the one that lives on. */
  resumed(connectionId: string): void {
    this.awaitingClient.delete(connectionId);
  }

  /** A message on this server's own channel, for recovery. */
  onMessage(message: CheckpointMessage | GroupedMessage | ReleasedMessage): void {
    if (message.kind === "checkpoint") return void this.onCheckpoint(message);
    const kept = this.kept.get(message.connectionId);
    if (!kept || kept.holder !== message.origin) return;
    if (message.kind === "released") return this.forget(message.connectionId);
    // Applied over the checkpoints that do not count it yet (see IncomingConnection.rebase); a
    // record a move to this server replaced is left alone (the move carries the groups).
    if (!this.keeps(message.connectionId)) return;
    const { host } = this;
    // Subscribed first: once the record has the group, its channel counts as listened to already.
    if (message.action === "add") void host.moves.subscribeGroups(message.connectionId, [message.group]);
    kept.incoming.groupChanged(message.action, message.group, { origin: message.origin, channel: host.channel("connection", message.connectionId), seq: message.seq });
  }

  /** A server of the hub is gone: the connections kept for it are taken over if it died, forgotten if it left. */
  serverGone(serverId: string, left: boolean): void {
    for (const [connectionId, kept] of [...this.kept]) {
      if (kept.holder !== serverId) continue;
      if (left) this.forget(connectionId);
      else this.promote(connectionId, kept);
    }
  }

  private tick(): void {
    this.checkpointAll();
    // Kept for a holder that stopped sending checkpoints while alive (it chose another standby
    // and its `released` was lost, or the connection moved): not recoverable here any more. A
    // holder not heard either may be dead and not yet declared so (this server's presence was
    // deaf a while, and judges again a timeout after it hears itself): serverGone takes it then.
    // One that did not hear itself held its checkpoints in its outbox: they come later.
    const now = Date.now();
    const stale = now - 2 * this.times.serverTimeout;
    for (const [connectionId, kept] of [...this.kept]) {
      if (kept.heardAt < stale && this.holderCheckpointsSince(kept.holder, stale, now)) this.forget(connectionId);
    }
  }

  /**
   * The holder is heard from lately and has heard itself since `since` (so its checkpoints have
   * not waited in its outbox since then), or it is not a live peer at all (gone, or never heard).
   */
  private holderCheckpointsSince(holder: string, since: number, now: number): boolean {
    const heartbeat = this.host.lastHeartbeat(holder);
    if (!heartbeat) return true;
    return heartbeat.at > now - this.times.serverTimeout && heartbeat.hearsItselfSince !== undefined && heartbeat.hearsItselfSince <= since;
  }

  /** Holder: a checkpoint of every stateful connection of this server to its standby. */
  private checkpointAll(): void {
    const { host } = this;
    const peers = [...host.peers()];
    for (const connection of host.local.allConnections()) {
      const { connectionId } = connection;
      const previous = this.standbys.get(connectionId);
      const { transport } = connection;
      const state = transport.statefulReconnect ? connection.checkpoint() : undefined;
      // The hubs of a multiplexed connection share its standby: it rebuilds them together.
      const standby = state && standbyOf(transport.transport?.carrierId ?? connectionId, peers);
      if (previous !== undefined && previous !== standby) {
        this.standbys.delete(connectionId);
        this.sendReleased(previous, connectionId);
      }
      if (!state || standby === undefined) continue;
      this.standbys.set(connectionId, standby);
      host.publish(host.channel("server", standby), this.checkpointOf(connection, state));
    }
  }

  private checkpointOf(connection: HubConnection, state: { protocol: string; buffer: MessageBufferState; items?: Array<[string, unknown]> }): CheckpointMessage {
    const { host } = this;
    const { connectionId, userIdentifier: userId, transport } = connection;
    const groups = host.local.groupsOf(connectionId);
    const channels = [host.channel("all"), host.channel("connection", connectionId), ...groups.map((group) => host.channel("group", group))];
    if (userId !== undefined) channels.push(host.channel("user", userId));
    return {
      kind: "checkpoint",
      origin: host.serverId,
      connectionId,
      token: transport.connectionToken,
      identity: transport.identity,
      userId,
      protocol: state.protocol,
      buffer: state.buffer,
      items: state.items,
      groups,
      lastSeq: host.lastSeq(),
      delivered: host.delivered.records(channels),
      generation: this.generations.get(connectionId),
      carrier: transport.transport?.carried?.(),
      carrierToken: transport.transport?.carrierToken,
    };
  }

  /** Standby: the holder's latest state of one of its connections. */
  private async onCheckpoint(checkpoint: CheckpointMessage): Promise<void> {
    const { host } = this;
    const { connectionId, origin } = checkpoint;
    if (host.local.has(connectionId)) return; // it is this server's now (it moved here)
    let kept = this.kept.get(connectionId);
    // An old holder's, from before the connection moved, that came after its new holder's.
    if (kept?.checkpoint && generationOf(checkpoint) < generationOf(kept.checkpoint)) return;
    const listened = kept?.listening ?? false;
    // Moving here meanwhile, or its record abandoned: kept afresh.
    if (kept && host.moves.incoming.get(connectionId) !== kept.incoming) {
      this.drop(connectionId);
      kept = undefined;
    }
    if (!kept) {
      if (host.moves.incoming.get(connectionId)) return; // moving here: the move carries its state
      try {
        const prepared = host.moves.keep(connectionId, { userId: checkpoint.userId, groups: checkpoint.groups }, this.times.maxMessages);
        const incoming = host.moves.incoming.get(connectionId)!;
        kept = { holder: origin, incoming, checkpoint: undefined, listening: false, checkpointsSince: 0, heardAt: Date.now(), burst: 0 };
        this.kept.set(connectionId, kept);
        await prepared;
        kept.listening = true;
        // A later checkpoint came while this one waited for the subscriptions, and is applied.
        if (kept.checkpoint) return;
      } catch {
        // The backplane is away: tried again at the next checkpoint.
        if (this.kept.get(connectionId) === kept) this.forget(connectionId);
        return;
      }
    }
    kept.holder = origin;
    kept.heardAt = Date.now();
    if (listened) kept.checkpointsSince++;
    // Sends refused past the bound may be missing from what is kept: only a checkpoint made
    // surely after them (the second from now) covers them again.
    if (kept.incoming.overflowed) kept.checkpointsSince = 0;
    const written = checkpoint.buffer.lastSentId - (kept.checkpoint?.buffer.lastSentId ?? checkpoint.buffer.lastSentId);
    // Forgets a past burst by halves, so one busy second does not pad every later recovery.
    kept.burst = Math.max(written, Math.floor(kept.burst / 2));
    kept.checkpoint = checkpoint;
    const token = reconnectToken(checkpoint);
    const ids = this.idsByToken.get(token);
    if (ids) ids.add(connectionId);
    else this.idsByToken.set(token, new Set([connectionId]));
    void host.moves.subscribeGroups(connectionId, checkpoint.groups);
    kept.incoming.rebase(lifetimeOf(checkpoint));
  }

  /** Standby: the holder died; the connection is rebuilt here from its last checkpoint. */
  private promote(connectionId: string, kept: Kept): void {
    const { host } = this;
    const { checkpoint, incoming } = kept;
    this.drop(connectionId);
    this.reviving.add(connectionId);
    const hub = host.hubName;
    let reason: string | undefined;
    if (!this.reviver) reason = "the hub cannot rebuild connections here";
    else if (incoming.overflowed) reason = `more than ${this.times.maxMessages} sends to it were kept since its last checkpoint`;
    else if (!checkpoint || kept.checkpointsSince < 2) reason = "no checkpoint of it was made surely after this server listened for it, or refused sends past its bound";
    if (reason !== undefined) {
      this.lost++;
      this.reviving.delete(connectionId);
      host.moves.abandon(connectionId);
      const error = new HubwireError("ERR_CONNECTION_NOT_RECOVERED", `Connection '${connectionId}' of a dead server cannot be recovered: ${reason}.`);
      host.log.write(lifetimeLog.notRecovered, { hub, connectionId, error });
      return;
    }
    const { token, identity, userId, protocol, buffer } = checkpoint!;
    // The client dropped its old socket having had messages numbered past the checkpoint's, and
    // drops any message numbered at or below the last it had. Those numbers are unknown here:
    // what the dead server wrote since the checkpoint is at most what was kept since (some of it
    // after its death) and what it wrote that was not published (its own sends to the
    // connection, the results of its calls), taken as two bursts. Filling them with empty
    // Completions, which clients ignore, lets every kept message through: some of them twice.
    const gap = incoming.captured.length + 2 * kept.burst;
    const rebuilt = { ...buffer, recovered: true };
    const { carrier, items } = checkpoint!;
    this.reviver!({ connectionId, token, identity, userId, protocol, buffer: rebuilt, lifetime: { ...lifetimeOf(checkpoint!), gap }, carrier, items }).then(
      () => {
        this.reviving.delete(connectionId);
        this.recovered++;
        this.awaitingClient.set(connectionId, kept.holder);
        const checkpointAgeMs = Date.now() - kept.heardAt;
        host.log.write(lifetimeLog.recovered, { hub, connectionId, holder: kept.holder, kept: incoming.captured.length, gap, checkpointAgeMs, lastSentId: buffer.lastSentId, lastAcked: buffer.lastAcked });
      },
      (cause: unknown) => {
        this.lost++;
        this.reviving.delete(connectionId);
        host.moves.abandon(connectionId);
        const error = new HubwireError("ERR_CONNECTION_NOT_RECOVERED", `Connection '${connectionId}' of a dead server cannot be recovered: ${(cause as Error).message}`);
        host.log.write(lifetimeLog.notRecovered, { hub, connectionId, error });
      },
    );
  }

  private forget(connectionId: string): void {
    const kept = this.kept.get(connectionId);
    if (!kept) return;
    this.drop(connectionId);
    // A move here shares the record: the move lets go of it when it arrives or fails.
    if (this.host.moves.incoming.get(connectionId) === kept.incoming && !this.host.moves.isMovingHere(connectionId)) this.host.moves.abandon(connectionId);
  }

  private drop(connectionId: string): void {
    const checkpoint = this.kept.get(connectionId)?.checkpoint;
    this.kept.delete(connectionId);
    if (!checkpoint) return;
    const token = reconnectToken(checkpoint);
    const ids = this.idsByToken.get(token);
    ids?.delete(connectionId);
    if (ids?.size === 0) this.idsByToken.delete(token);
  }

  private sendReleased(standby: string, connectionId: string): void {
    const { host } = this;
    host.publish(host.channel("server", standby), { kind: "released", origin: host.serverId, connectionId });
  }
}

/** The token the connection's client reconnects with: a multiplexed hub's is its connection's. */
function reconnectToken(checkpoint: CheckpointMessage): string {
  return checkpoint.carrierToken ?? checkpoint.token;
}

function lifetimeOf(checkpoint: CheckpointMessage): LifetimeHandoff {
  return { origin: checkpoint.origin, lastSeq: checkpoint.lastSeq, groups: checkpoint.groups, delivered: checkpoint.delivered, generation: checkpoint.generation };
}

/** A checkpoint's or handoff's generation: 0 for a connection that never changed servers (or from a server before generations). */
function generationOf(state: { generation?: number | undefined }): number {
  return typeof state.generation === "number" ? state.generation : 0;
}

/** The live peer with the highest hash of itself and the connection id (rendezvous hashing): servers that come and go move few standbys. */
export function standbyOf(connectionId: string, peers: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = "";
  for (const peer of peers) {
    const score = createHash("sha1").update(peer).update(connectionId).digest("hex");
    if (score > bestScore) {
      best = peer;
      bestScore = score;
    }
  }
  return best;
}
