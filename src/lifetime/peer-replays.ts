import type { LinkDrop } from "./backplane.js";
import type { EarlierReplay } from "./backplane-messages.js";

/** A request for what a peer sent while this server's link was down: everything numbered after `after` (and see `earlier`). */
export interface ReplayRequest {
  serverId: string;
  requestId: number;
  after: number;
  earlier?: EarlierReplay;
}

/** Why a peer's messages stopped waiting for its replay before it came in full. */
export type ReplayGiveUp = "no answer" | "link not back" | "held too much" | "server gone";

export interface PeerReplaysEvents {
  /** A peer's replay came in full: `resent` messages of it, and `held` that waited for it, are delivered. */
  onReplayed(serverId: string, resent: number, held: number): void;
  /**
   * What a peer sent again does not reach back to what this server had heard: its numbers
   * `after` + 1 to `from` - 1 may be lost here (some were for channels this one does not listen to).
   */
  onIncomplete(serverId: string, after: number, from: number): void;
  /** A peer's messages are delivered without its replay, or before its end (the rest, if it comes, comes late). */
  onGaveUp(serverId: string, reason: ReplayGiveUp, held: number): void;
  /** A held message failed where it was handed (it would have failed arriving). */
  onHeldThrew(error: unknown): void;
  /** No part of the answer to `request` came within `retry`: it is made again (see requests). */
  onAskAgain(request: ReplayRequest): void;
}

interface Gate {
  /** Every message the peer numbered up to this was heard here before the link dropped (or a later drop, if it knew of fewer). */
  after: number;
  /** Channels whose replay starts earlier (see linkDropped). */
  earlier: EarlierReplay | undefined;
  /** The request that asks for the replay, once made (this server hears again). */
  requestId: number | undefined;
  /** What arrived from the peer since, in order: delivered once its replay is in. */
  readonly held: Array<() => void>;
  heldBytes: number;
  /** Messages of the answer so far. */
  resent: number;
  /** Bounds the wait: for the answer once asked, for the link before (see hold). */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Asks again while no part of the answer came (see requests). */
  retry: ReturnType<typeof setInterval> | undefined;
}

/**
 * A server whose own connection that receives from the backplane dropped misses what the others
 * publish until it is back, and pub/sub keeps nothing for it. From the drop on, what each peer
 * sends waits here; once this server hears again it asks each peer for what it handed the
 * backplane after the number its last heartbeat heard here carried (see ReplayLog), delivers
 * that, then what waited: each peer's messages arrive whole and in its order. Copies of what
 * was heard after all are dropped by the send numbers (SendSequences).
 */
export class PeerReplays {
  private readonly gates = new Map<string, Gate>();
  /**
   * The numbers each peer's heartbeats carried (all its messages up to one went out before
   * that heartbeat), with when each was heard, newest last, back `history` before the last.
   */
  private readonly heartbeats = new Map<string, Array<{ at: number; seq: number }>>();
  private lastRequestId = 0;

  constructor(
    private readonly bounds: {
      /** Bytes of held messages per peer; past it, they are delivered without waiting. */
      readonly maxBytes: number;
      /** How long after its request a replay may take to come in full; and a message may wait for the link, before. */
      readonly timeout: number;
      /** How often a request no part of whose answer came yet is made again, within `timeout`. */
      readonly retry: number;
      /** Where links keep no order between them, how long before a dropped one was last known to deliver the heartbeat a replay starts from was heard. */
      readonly lookback: number;
      /** How far back each peer's heartbeats are remembered: as far as what peers keep to send again (the outbox's `maxAge`). */
      readonly history: number;
    },
    private readonly events: PeerReplaysEvents,
  ) {}

  /** Whether some peer's messages wait for its replay: the only check a message pays otherwise. */
  get holding(): boolean {
    return this.gates.size > 0;
  }

  /** A peer's heartbeat said it had handed the backplane everything up to `seq`. */
  heartbeat(serverId: string, seq: number): void {
    const now = Date.now();
    let heard = this.heartbeats.get(serverId);
    if (!heard) this.heartbeats.set(serverId, (heard = []));
    heard.push({ at: now, seq });
    while (heard.length > 1 && heard[1]!.at <= now - this.bounds.history) heard.shift();
  }

  /**
   * This server's link dropped: the messages of each of `peers` wait from now on for its
   * replay, from the number its last heartbeat heard here carried (on one connection to the
   * backplane, a server's messages arrive in the order it published them, so all it published
   * before that heartbeat was heard before it). A peer whose heartbeats carry no number keeps
   * no replay and is not waited for. A peer already waited for is asked again, from where it
   * was or from where this drop starts if earlier, once this server hears again: the answer to
   * the first request may be lost too.
   *
   * The heartbeat is the last heard by `drop.since`, when the link was last known to deliver (it
   * may have gone silent before it was found out). Where links keep no order between them (a
   * Redis Cluster's shards), a message on the link that dropped may still have been on its way
   * when a later heartbeat came on another: the replay then starts from a heartbeat heard
   * `lookback` earlier. What was heard after it comes twice, and its copies are dropped.
   *
   * Where the drop names its channels (a Redis Cluster's moved slot), a heartbeat that came
   * through another shard can name sends the new owner took before this server found the move.
   * `replayAfter` says, from the numbers each of those channels received, where the peer's
   * replay must start at the latest to bring them (see SendSequences.replayAfter); where that is
   * earlier, the replay brings what the peer sent on those channels alone from there
   * (`earlier`), so that it costs what they carried, not all the peer sent since.
   */
  linkDropped(peers: Iterable<string>, drop: LinkDrop, replayAfter?: (serverId: string, channels: readonly string[]) => number | undefined): void {
    const by = drop.since - (drop.unordered ? this.bounds.lookback : 0);
    for (const serverId of peers) {
      const heard = this.heartbeats.get(serverId);
      if (!heard) continue;
      // The last heard by then, or the oldest remembered.
      let at = heard.length - 1;
      while (at > 0 && heard[at]!.at > by) at--;
      const after = heard[at]!.seq;
      const { channels } = drop;
      const channelsAfter = channels && replayAfter?.(serverId, channels);
      const earlier = channels && channelsAfter !== undefined && channelsAfter < after ? { after: channelsAfter, channels: [...channels] } : undefined;
      const gate = this.gates.get(serverId);
      if (gate) {
        gate.after = Math.min(gate.after, after);
        gate.earlier = joined(gate.earlier, earlier);
        stopTimers(gate);
        gate.requestId = undefined;
        gate.resent = 0;
        if (gate.held.length > 0) this.awaitLink(serverId, gate);
        continue;
      }
      this.gates.set(serverId, { after, earlier, requestId: undefined, held: [], heldBytes: 0, resent: 0, timer: undefined, retry: undefined });
    }
  }

  /**
   * Keeps `deliver` for later, if `origin`'s messages wait for its replay; returns whether it
   * did. `bytes`: the message's size, counted against the bound.
   */
  hold(origin: string, bytes: number, deliver: () => void): boolean {
    const gate = this.gates.get(origin);
    if (!gate) return false;
    if (gate.requestId === undefined && gate.timer === undefined) this.awaitLink(origin, gate);
    gate.held.push(deliver);
    gate.heldBytes += bytes;
    if (gate.heldBytes > this.bounds.maxBytes) this.release(origin, "held too much");
    return true;
  }

  /**
   * The requests to make now that this server hears again: one per peer not asked since its link
   * dropped. Each is made again, the same, every `retry` until a part of its answer comes: a
   * request can be lost on its way too, where the peer did not hear its own channel for a while
   * (a Redis Cluster's slot of it moved, and the peer has not found the move yet). The peer
   * answers a request once, however often it hears it.
   */
  requests(): ReplayRequest[] {
    const requests: ReplayRequest[] = [];
    for (const [serverId, gate] of this.gates) {
      if (gate.requestId !== undefined) continue;
      gate.requestId = ++this.lastRequestId;
      const request: ReplayRequest = { serverId, requestId: gate.requestId, after: gate.after, earlier: gate.earlier };
      clearTimeout(gate.timer);
      gate.timer = setTimeout(() => this.release(serverId, "no answer"), this.bounds.timeout);
      gate.timer.unref();
      gate.retry = setInterval(() => this.events.onAskAgain(request), this.bounds.retry);
      gate.retry.unref();
      requests.push(request);
    }
    return requests;
  }

  /**
   * A part of `serverId`'s answer to request `requestId` came, its `messages` already delivered
   * (an answer to an older request is delivered too: what it has is older than what waits).
   * `from`: the first number the peer still had; `last`: the answer's last part, after which
   * what waited is delivered.
   */
  answered(serverId: string, requestId: number, part: { from: number; first: boolean; last: boolean; messages: number }): void {
    const gate = this.gates.get(serverId);
    if (!gate || gate.requestId !== requestId) return;
    clearInterval(gate.retry);
    gate.retry = undefined;
    if (part.first && part.from > gate.after + 1) this.events.onIncomplete(serverId, gate.after, part.from);
    gate.resent += part.messages;
    if (!part.last) return;
    this.events.onReplayed(serverId, gate.resent, gate.held.length);
    this.release(serverId);
  }

  /** A peer is gone: what it sent and waited here is delivered, and it is forgotten. */
  forget(serverId: string): void {
    this.heartbeats.delete(serverId);
    if (this.gates.has(serverId)) this.release(serverId, "server gone");
  }

  /**
   * Messages wait for a link that is not back yet: what comes on a server's other links (a
   * Redis Cluster's other shards) is held meanwhile, for `timeout` at most.
   */
  private awaitLink(serverId: string, gate: Gate): void {
    gate.timer = setTimeout(() => this.release(serverId, "link not back"), this.bounds.timeout);
    gate.timer.unref();
  }

  /** Stops the timers; what waits is dropped with the server. */
  close(): void {
    for (const gate of this.gates.values()) stopTimers(gate);
    this.gates.clear();
  }

  /** Delivers what waited for `serverId`'s replay, in order; `reason`: why before the replay was in. */
  private release(serverId: string, reason?: ReplayGiveUp): void {
    const gate = this.gates.get(serverId);
    if (!gate) return;
    this.gates.delete(serverId);
    stopTimers(gate);
    if (reason && reason !== "server gone") this.events.onGaveUp(serverId, reason, gate.held.length);
    for (const deliver of gate.held) {
      try {
        deliver();
      } catch (error) {
        this.events.onHeldThrew(error);
      }
    }
  }
}

/** Stops a gate's wait and its requests made again. */
function stopTimers(gate: Gate): void {
  clearTimeout(gate.timer);
  clearInterval(gate.retry);
  gate.timer = gate.retry = undefined;
}

/** Both earlier parts of a replay as one: from the earlier number, on the channels of either. */
function joined(one: EarlierReplay | undefined, other: EarlierReplay | undefined): EarlierReplay | undefined {
  if (!one || !other) return one ?? other;
  return { after: Math.min(one.after, other.after), channels: [...new Set([...one.channels, ...other.channels])] };
}
