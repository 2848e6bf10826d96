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
 * The recent calls of at most `connections` connections, `perConnection` calls each: the
 * connections that called most recently keep theirs (the one that called least recently makes
 * way for a new one), and a connection's calls go when it ends.
 */
export class RecentCallsByConnection {
  private readonly rings = new Map<string, Ring<RecentCall>>();

  constructor(
    private readonly connections: number,
    private readonly perConnection: number,
  ) {}

  record(call: RecentCall): void {
    if (this.connections <= 0) return;
    let ring = this.rings.get(call.connectionId);
    if (ring) {
      // Map order is insertion order: moving the ring to the end keeps the order by last call.
      this.rings.delete(call.connectionId);
    } else {
      ring = new Ring(this.perConnection);
      if (this.rings.size >= this.connections) this.rings.delete(this.rings.keys().next().value!);
    }
    this.rings.set(call.connectionId, ring);
    ring.push(call);
  }

  /** Newest first; empty for a connection not kept. */
  of(connectionId: string): RecentCall[] {
    return this.rings.get(connectionId)?.toArray() ?? [];
  }

  forget(connectionId: string): void {
    this.rings.delete(connectionId);
  }

  get size(): number {
    return this.rings.size;
  }
}
