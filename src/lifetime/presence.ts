/** How often a server announces itself, and how long without a word before it counts as gone. */
export interface PresenceTimes {
  readonly heartbeatInterval: number;
  readonly timeout: number;
}

export interface PresenceEvents {
  /**
   * Publishes this server's heartbeat; `listening`: it hears its own, so it receives what is
   * published; `linkDropped`: it does not, because a connection of its own to the backplane
   * dropped (see linkDropped). `sentAt` comes back with it to this server (see Presence.heard).
   */
  publishHeartbeat(listening: boolean, sentAt: number, linkDropped: boolean): Promise<unknown>;
  /** The server `serverId` sent no heartbeat for `timeout` while this one was listening (`left`: it said it leaves). */
  onServerGone(serverId: string, left: boolean): void;
  /** This server stopped hearing itself, could not publish its heartbeat, or a link to the backplane dropped. */
  onDown(reason: PathDownReason): void;
  /**
   * Its heartbeats go out, yet it has not heard one of them for `timeout`: its subscription may
   * be lost (the backplane believes it made it, Redis does not have it). Called then, and again
   * after twice as long each time while so, to make the subscriptions again.
   */
  onUnheard(): void;
  /**
   * After `awaitListeners()`: this server hears itself again, and every live peer hears too (or
   * the wait ran out), or it has heard nothing of itself for two `timeout`s while its heartbeats
   * went out (a subscription that cannot be made again must not hold the outbox for ever).
   */
  onListeners(): void;
  /**
   * A live peer that heard itself says a connection of its own to the backplane dropped: what
   * this server publishes does not reach it until it says it listens again.
   */
  onPeerDeaf(serverId: string): void;
}

/** Why a server's path through the backplane counts as down (a log field). */
export type PathDownReason = "publish failed" | "heartbeat failed" | "heartbeat unheard" | "link dropped" | "peer not listening";

interface Peer {
  /** When it counts as gone, unless heard from first. */
  deadline: number;
  /** When its last heartbeat was heard (a fresh `deadline` after this server was deaf is not a heartbeat). */
  heardAt: number;
  /**
   * Since when its heartbeats say it hears itself, without a break; undefined while they say it
   * does not (its outbox then holds what it sends the others, until a while after it does).
   */
  hearsItselfSince: number | undefined;
  /** Its last heartbeat, heard since this server's own path came back, said it listens. */
  listening: boolean;
}

/**
 * Who else serves this hub, from heartbeats on one backplane channel. A server publishes one
 * every `heartbeatInterval` and hears its own: that is how it knows its path through the
 * backplane works both ways. A peer not heard for `timeout` while this server hears itself is
 * gone (a crash, or its own link lost), once this server has heard a heartbeat of its own
 * published past that time (see judgePeers); while this server hears nothing itself, it judges
 * no one, and on hearing itself again it gives every peer a fresh `timeout`.
 */
export class Presence {
  private readonly peers = new Map<string, Peer>();
  /** Peers declared dead (they missed their heartbeats; not those that left) and not heard since. */
  private readonly dead = new Set<string>();
  /** This server heard its own heartbeat within `timeout`. */
  private up = false;
  /** It stopped hearing itself because a connection of its own to the backplane dropped (see linkDropped). */
  private linkDown = false;
  private upAt = 0;
  private lastOwnHeartbeat = 0;
  /** When the last of its own heartbeats it heard was published: it has read what its peers published until then. */
  private ownReadUntil = 0;
  private awaiting = false;
  /** When `awaitListeners` began to wait (a wait for a peer that stopped listening starts while this server hears itself). */
  private awaitingSince = 0;
  /** Since when its heartbeats go out while it hears none of them (0: it hears itself, or a publish failed since). */
  private unheardSince = 0;
  /** `onUnheard` calls since `unheardSince`: the next waits twice as long (each call costs a subscribe per channel). */
  private unheardCalls = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  /** When this server began to announce itself, listening on the presence channel already. */
  private startedAt: number | undefined;

  constructor(
    private readonly serverId: string,
    private readonly times: PresenceTimes,
    private readonly events: PresenceEvents,
  ) {}

  start(): void {
    if (this.stopped) return; // closed while still subscribing
    this.startedAt = Date.now();
    this.beat();
    this.timer = setInterval(() => this.tick(), this.times.heartbeatInterval);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Live peers, as isAlive judges them. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** The live peers' ids. */
  peerIds(): IterableIterator<string> {
    return this.peers.keys();
  }

  /**
   * Resolves once every live peer has had a heartbeat interval to announce itself since this
   * server began listening (at once after that first interval): until then, `peerIds` may miss
   * some. Each peer answers this server's first heartbeat with one of its own at once, so the
   * interval is a bound far above a round trip, whatever the phase of the peers' ticks. Call it
   * after `start`.
   */
  peersAnnounced(): Promise<void> {
    const wait = (this.startedAt ?? Date.now()) + this.times.heartbeatInterval - Date.now();
    return wait <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, wait).unref());
  }

  /** This server hears its own heartbeats: its path through the backplane works both ways. */
  get hearsItself(): boolean {
    return this.up;
  }

  /** Whether `serverId` is a live peer (heard within `timeout`, or not judged while this server is deaf). */
  isAlive(serverId: string): boolean {
    return this.peers.has(serverId);
  }

  /**
   * When the live peer `serverId`'s last heartbeat was heard, and since when its heartbeats say
   * it hears itself (see Peer); undefined for one not live (dead, left, never heard).
   */
  lastHeartbeat(serverId: string): { at: number; hearsItselfSince: number | undefined } | undefined {
    const peer = this.peers.get(serverId);
    return peer && { at: peer.heardAt, hearsItselfSince: peer.hearsItselfSince };
  }

  /** Whether `serverId` was declared dead and has not been heard since (one that left, or never heard, has not died). */
  hasDied(serverId: string): boolean {
    return this.dead.has(serverId);
  }

  /** A heartbeat arrived (this server's own included, with the `sentAt` it was published with). */
  heard(serverId: string, listening: boolean, sentAt?: number, linkDropped = false): void {
    const now = Date.now();
    if (serverId === this.serverId) {
      this.lastOwnHeartbeat = now;
      this.ownReadUntil = Math.max(this.ownReadUntil, sentAt ?? now);
      if (!this.up) {
        this.up = true;
        this.linkDown = false;
        this.upAt = now;
        this.unheardSince = 0;
        this.unheardCalls = 0;
        for (const peer of this.peers.values()) {
          peer.deadline = now + this.times.timeout;
          peer.listening = false;
        }
        // Tell the peers at once that this server listens again: they may be holding for it.
        this.beat();
      }
      this.judgePeers(now);
    } else {
      this.dead.delete(serverId);
      const peer = this.peers.get(serverId);
      const listens = this.up && listening;
      if (peer) {
        // Not a peer that stalls (a heartbeat unheard for a while): what it misses comes late, not never.
        const deafened = linkDropped && !listening && peer.hearsItselfSince !== undefined;
        // It hears itself again and may be holding its outbox until this server says it listens:
        // say it now, not at the next tick.
        if (listening && peer.hearsItselfSince === undefined && this.up) this.beat();
        peer.deadline = now + this.times.timeout;
        peer.heardAt = now;
        peer.hearsItselfSince = listening ? (peer.hearsItselfSince ?? now) : undefined;
        peer.listening = listens;
        if (deafened && this.up) this.events.onPeerDeaf(serverId);
      } else {
        this.peers.set(serverId, { deadline: now + this.times.timeout, heardAt: now, hearsItselfSince: listening ? now : undefined, listening: listens });
        // A server that has just started (it does not hear itself yet) learns of this one now,
        // not at this one's next tick: see peersAnnounced.
        if (!listening && this.up) this.beat();
      }
    }
    this.checkListeners(now);
  }

  /** A peer said it leaves (it closes). */
  left(serverId: string): void {
    if (this.peers.delete(serverId)) this.events.onServerGone(serverId, true);
    this.checkListeners(Date.now());
  }

  /** A publish failed: this server's path is down until it hears itself again. */
  down(reason: PathDownReason = "publish failed"): void {
    // It is unheard for lack of a path out, not of a subscription.
    this.unheardSince = 0;
    this.unheardCalls = 0;
    if (!this.up) return;
    this.up = false;
    this.events.onDown(reason);
  }

  /**
   * This server's connection that receives from the backplane dropped (an engine restart, a
   * network fault): until it hears itself again, it does not receive what its peers publish, nor
   * can it know that they receive what it publishes (after a restart, they subscribe again too).
   * Unlike `down`, it says nothing of the path out: the checks of a server whose heartbeats go
   * out but never come back keep counting.
   */
  linkDropped(): void {
    if (!this.up || this.stopped) return;
    this.up = false;
    this.linkDown = true;
    this.events.onDown("link dropped");
    // Tells the peers at once that this server misses what they publish: they hold it until it hears again.
    this.beat();
  }

  /** A connection to the backplane is back: a heartbeat now finds out whether the path works, not one at the next tick. */
  linkRestored(): void {
    if (!this.up && this.timer && !this.stopped) this.beat();
  }

  /** Calls `onListeners` once this server hears itself and its peers listen (or `timeout` after it hears itself). */
  awaitListeners(): void {
    if (!this.awaiting) this.awaitingSince = Date.now();
    this.awaiting = true;
    this.checkListeners(Date.now());
  }

  private tick(): void {
    const now = Date.now();
    if (this.up && now - this.lastOwnHeartbeat > this.times.timeout) this.down("heartbeat unheard");
    const { timeout } = this.times;
    // After timeout, 3, 7, 15... timeouts.
    if (!this.up && this.unheardSince > 0 && now - this.unheardSince >= timeout * (2 ** (this.unheardCalls + 1) - 1)) {
      this.unheardCalls++;
      this.events.onUnheard();
    }
    this.judgePeers(now);
    this.beat();
    this.checkListeners(now);
  }

  /**
   * Declares dead the peers not heard before their deadline, if this server heard one of its own
   * heartbeats published since that deadline. A heartbeat comes through the presence channel
   * after every heartbeat published before it: hearing its own proves this server has read what
   * its peers published until it published that one (not until it heard it: a heartbeat
   * published before a stall is read after it, ahead of the peers' of the stall). The clock
   * alone does not: after its event loop stalled (a long GC pause, a slow task) for less than
   * `timeout`, the timer may run before the peers' heartbeats of the stall, waiting unread in
   * the socket, and a live peer would count as dead. Called on each tick and on each of its own
   * heartbeats, so a death is noticed as soon as before.
   */
  private judgePeers(now: number): void {
    if (!this.up) return;
    for (const [serverId, peer] of this.peers) {
      if (peer.deadline > now || this.ownReadUntil < peer.deadline) continue;
      this.peers.delete(serverId);
      this.dead.add(serverId);
      this.events.onServerGone(serverId, false);
    }
  }

  private beat(): void {
    this.events.publishHeartbeat(this.up, Date.now(), this.linkDown).then(
      () => {
        if (!this.up && this.unheardSince === 0) this.unheardSince = Date.now();
      },
      () => this.down("heartbeat failed"),
    );
  }

  private checkListeners(now: number): void {
    if (!this.awaiting) return;
    if (!this.up) {
      // Its heartbeats go out but never come back, even with its subscriptions made again: what
      // waits would only age past its bounds, so it goes out to whoever listens.
      if (this.unheardSince === 0 || now - this.unheardSince < 2 * this.times.timeout) return;
      this.awaiting = false;
      this.events.onListeners();
      return;
    }
    let all = true;
    for (const peer of this.peers.values()) all &&= peer.listening;
    // A peer that hears nothing itself is waited for at most `timeout`: it may never hear again.
    if (!all && now - Math.max(this.upAt, this.awaitingSince) < this.times.timeout) return;
    this.awaiting = false;
    this.events.onListeners();
  }
}
