/** One hub method call as the dashboard shows it. */
export interface RecentCall {
  hub: string;
  method: string;
  connectionId: string;
  /** When it ended, ms since the epoch. */
  at: number;
  ms: number;
  outcome: "ok" | "hub_exception" | "error";
}

/** The last `capacity` items, oldest overwritten first. */
export class Ring<T> {
  private readonly items: Array<T | undefined>;
  private next = 0;
  private filled = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    if (this.capacity <= 0) return;
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** Newest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let k = 1; k <= this.filled; k++) out.push(this.items[(this.next - k + this.capacity) % this.capacity]!);
    return out;
  }

  get size(): number {
    return this.filled;
  }
}

/**
 * The last `capacity` calls, in records made once and written over: recording a call allocates
 * nothing, so records do not outlive a young-generation collection only to die in the old one.
 */
export class CallRing {
  private readonly records: RecentCall[];
  private next = 0;
  private filled = 0;

  constructor(readonly capacity: number) {
    this.records = Array.from({ length: capacity }, () => ({ hub: "", method: "", connectionId: "", at: 0, ms: 0, outcome: "ok" }));
  }

  record(hub: string, method: string, connectionId: string, at: number, ms: number, outcome: RecentCall["outcome"]): void {
    if (this.capacity <= 0) return;
    const record = this.records[this.next]!;
    record.hub = hub;
    record.method = method;
    record.connectionId = connectionId;
    record.at = at;
    record.ms = ms;
    record.outcome = outcome;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** Copies, newest first. */
  toArray(): RecentCall[] {
    const out: RecentCall[] = [];
    for (let k = 1; k <= this.filled; k++) out.push({ ...this.records[(this.next - k + this.capacity) % this.capacity]! });
    return out;
  }

  get size(): number {
    return this.filled;
  }

  clear(): void {
    this.next = 0;
    this.filled = 0;
  }
}

interface TrackedConnection {
  readonly calls: CallRing;
  /** Called since the eviction hand last passed it (the clock algorithm's second chance). */
  used: boolean;
}

/**
 * The recent calls of at most `connections` connections, `perConnection` calls each. When a
 * new connection calls and all places are taken, the one that has not called for longest (as
 * the clock algorithm judges it: one pass over the oldest, sparing those that called since)
 * makes way, and its records serve the new one. A call costs a map lookup and a write into
 * records made once; a connection's calls go when it ends.
 */
export class RecentCallsByConnection {
  private readonly tracked = new Map<string, TrackedConnection>();

  constructor(
    private readonly connections: number,
    private readonly perConnection: number,
  ) {}

  record(hub: string, method: string, connectionId: string, at: number, ms: number, outcome: RecentCall["outcome"]): void {
    if (this.connections <= 0) return;
    let entry = this.tracked.get(connectionId);
    if (entry) entry.used = true;
    else {
      entry = this.tracked.size >= this.connections ? this.evict() : { calls: new CallRing(this.perConnection), used: false };
      this.tracked.set(connectionId, entry);
    }
    entry.calls.record(hub, method, connectionId, at, ms, outcome);
  }

  /** Newest first; empty for a connection not kept. */
  of(connectionId: string): RecentCall[] {
    return this.tracked.get(connectionId)?.calls.toArray() ?? [];
  }

  forget(connectionId: string): void {
    this.tracked.delete(connectionId);
  }

  get size(): number {
    return this.tracked.size;
  }

  /** Takes the place of the oldest connection that has not called since the hand last passed. */
  private evict(): TrackedConnection {
    for (;;) {
      const [id, entry] = this.tracked.entries().next().value!;
      this.tracked.delete(id);
      if (!entry.used) {
        entry.calls.clear();
        return entry;
      }
      entry.used = false;
      this.tracked.set(id, entry);
    }
  }
}
