import type { Handed } from "./replay-log.js";

/** How long and how much an outbox keeps while it cannot publish. */
export interface OutboxBounds {
  /** Milliseconds a message may wait; older ones are dropped. */
  readonly maxAge: number;
  /** Bytes of messages it may hold; past it, the oldest are dropped. */
  readonly maxBytes: number;
}

/** What an outbox dropped during one outage. */
export interface OutboxDrops {
  messages: number;
  bytes: number;
}

/** What an outbox did since it was made. */
export interface OutboxCounts {
  /** Messages the backplane took. */
  published: number;
  /** Of those added with `expectReceiver`, taken by the backplane but received by no server. */
  unreceived: number;
  /** Messages dropped past the bounds, and their bytes. */
  dropped: number;
  droppedBytes: number;
}

interface Entry {
  readonly channel: string;
  readonly payload: Uint8Array;
  readonly at: number;
  readonly expectReceiver: boolean;
  /** The message's number, for a numbered one (SendMessage.seq). */
  readonly seq: number | undefined;
  state: "waiting" | "in flight" | "done";
}

/** Publishes past this many unanswered at once wait their turn (Redis pipelines them on one socket). */
export const maxInFlight = 256;

/**
 * The messages of one server for the others, in the order they were sent. A send hands its
 * message here and returns: it never waits on the backplane. While the backplane takes them, the
 * outbox publishes at once, several in flight; on the first failure it holds (`onFailure`), keeps
 * what failed and what comes next within its bounds, and publishes them again, in order, once
 * `open()` is called. A message whose publish failed may still have reached some servers: each
 * carries a sequence number so receivers drop the copy (see ScaleOutLifetimeManager).
 */
export class BackplaneOutbox {
  private readonly queue: Entry[] = [];
  /** Index in `queue` of the oldest message not yet done. */
  private head = 0;
  /** Index in `queue` of the next message to publish. */
  private next = 0;
  private inFlight = 0;
  /** Messages and bytes not done: waiting or in flight. */
  private messages = 0;
  private bytes = 0;
  /** See `confirmedThrough`. */
  private confirmed = 0;
  private holding = false;
  /** `open()` came while publishes of the failed round were still in flight. */
  private reopen = false;
  private drops: OutboxDrops = { messages: 0, bytes: 0 };
  /** Told when nothing waits or is in flight, or the outbox holds (see settledOrHeld). */
  private settleWaiters: Array<() => void> = [];
  private readonly counts: OutboxCounts = { published: 0, unreceived: 0, dropped: 0, droppedBytes: 0 };

  constructor(
    private readonly publish: (channel: string, payload: Uint8Array) => Promise<number>,
    private readonly bounds: OutboxBounds,
    /** The first failure while open: the outbox holds from now on. */
    private readonly onFailure: (error: unknown) => void,
    /** It publishes again after holding; `waited`: what it kept, `drops`: what it dropped meanwhile. */
    private readonly onResumed: (waited: number, drops: OutboxDrops) => void,
    /** Told of each numbered message as it goes to the backplane, in order (see ReplayLog). */
    private readonly onHanded?: (message: Handed) => void,
  ) {}

  /** Whether it publishes (false while it holds, after a failure and until `open()`). */
  get isOpen(): boolean {
    return !this.holding;
  }

  /** Messages and bytes waiting or in flight. */
  get size(): { messages: number; bytes: number } {
    return { messages: this.messages, bytes: this.bytes };
  }

  /** What waits or is in flight, how long the oldest of it has (its delivery lag, ms), and the counts since the outbox was made. */
  get stats(): OutboxCounts & { waiting: { messages: number; bytes: number }; lagMs: number } {
    const oldestAt = this.head < this.queue.length ? this.queue[this.head]!.at : undefined;
    return { waiting: this.size, lagMs: oldestAt === undefined ? 0 : Date.now() - oldestAt, ...this.counts };
  }

  /**
   * The newest number such that the backplane took that message and every numbered one before
   * it (or they were dropped past the bounds): what a heartbeat may say was published before
   * it. Not the newest handed: on a Redis Cluster a message in flight may be held by its shard
   * (a failover's pause) while the heartbeat, on another shard, goes through; a server that
   * heard that heartbeat before its link dropped would not ask for the held message, which may
   * then land where it no longer listens.
   */
  get confirmedThrough(): number {
    return this.confirmed;
  }

  /**
   * Queues a message; `expectReceiver`: one that no server receives is counted as unreceived;
   * `seq`: its number, for a numbered one (see onHanded).
   */
  add(channel: string, payload: Uint8Array, expectReceiver = false, seq?: number): void {
    this.queue.push({ channel, payload, at: Date.now(), expectReceiver, seq, state: "waiting" });
    this.messages++;
    this.bytes += payload.byteLength;
    // Open, the bytes bound still holds: a backplane that stalls without failing fills it too.
    if (this.holding || this.bytes > this.bounds.maxBytes) this.trim();
    this.pump();
  }

  /**
   * Resolves once the backplane has taken every message handed so far (nothing waits or is in
   * flight), or once the outbox holds after a failure: then what waits would go out only after
   * an `open()`. A closing server waits for it, so that what it sent last is not lost.
   */
  settledOrHeld(): Promise<void> {
    if (this.isSettledOrHeld) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  private get isSettledOrHeld(): boolean {
    return this.messages === 0 || (this.holding && this.inFlight === 0);
  }

  /** Stops publishing (what is in flight still settles) until `open()`. */
  hold(): void {
    this.holding = true;
    // An `open()` that came before, while a publish was still in flight, is for an outage that
    // has ended: this one needs its own, once the path and the peers listen again.
    this.reopen = false;
  }

  /** Publishes again, oldest first, what waited (once what is in flight has settled). */
  open(): void {
    if (!this.holding) return;
    if (this.inFlight > 0) this.reopen = true;
    else this.resume();
  }

  private pump(): void {
    // After a failure, nothing new goes out until every publish in flight has settled: then the
    // next publish starts again from the oldest message not done, so receivers see them in order.
    while (!this.holding && this.next < this.queue.length && this.inFlight < maxInFlight) {
      const entry = this.queue[this.next++]!;
      if (entry.state !== "waiting") continue; // dropped by `trim` while held
      entry.state = "in flight";
      this.inFlight++;
      if (entry.seq !== undefined) this.onHanded?.(entry as Handed);
      let published: Promise<number>;
      try {
        published = this.publish(entry.channel, entry.payload);
      } catch (error) {
        published = Promise.reject(error);
      }
      published.then(
        (receivers) => this.settled(entry, true, receivers),
        (error: unknown) => this.settled(entry, false, 0, error),
      );
    }
  }

  private settled(entry: Entry, ok: boolean, receivers: number, error?: unknown): void {
    this.inFlight--;
    if (ok) {
      entry.state = "done";
      this.messages--;
      this.bytes -= entry.payload.byteLength;
      this.counts.published++;
      if (entry.expectReceiver && receivers === 0) this.counts.unreceived++;
    } else {
      entry.state = "waiting";
      if (!this.holding) {
        this.holding = true;
        this.onFailure(error);
      }
    }
    this.compact();
    if (this.holding && this.inFlight === 0) {
      this.next = this.head;
      this.trim();
      if (this.reopen) this.resume();
    }
    if (!this.holding) this.pump();
    if (this.settleWaiters.length > 0 && this.isSettledOrHeld) {
      for (const resolve of this.settleWaiters.splice(0)) resolve();
    }
  }

  private resume(): void {
    this.holding = false;
    this.reopen = false;
    this.next = this.head;
    this.trim();
    const drops = this.drops;
    this.drops = { messages: 0, bytes: 0 };
    this.onResumed(this.messages, drops);
    this.pump();
  }

  /** Drops, oldest first, waiting messages past the bounds, counting them. */
  private trim(): void {
    const oldest = Date.now() - this.bounds.maxAge;
    for (let i = this.head; i < this.queue.length; i++) {
      const entry = this.queue[i]!;
      if (entry.state !== "waiting") continue;
      if (entry.at >= oldest && this.bytes <= this.bounds.maxBytes) break;
      entry.state = "done";
      this.messages--;
      this.bytes -= entry.payload.byteLength;
      this.drops.messages++;
      this.drops.bytes += entry.payload.byteLength;
      this.counts.dropped++;
      this.counts.droppedBytes += entry.payload.byteLength;
    }
    this.compact();
  }

  /** Forgets the done messages at the front, and reclaims the array now and then. */
  private compact(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.state === "done") {
      const { seq } = this.queue[this.head++]!;
      if (seq !== undefined) this.confirmed = seq;
    }
    if (this.next < this.head) this.next = this.head;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.next -= this.head;
      this.head = 0;
    }
  }
}
