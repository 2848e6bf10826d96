// The lot a page watches: its bids by seq, whichever order the pushes and answers arrive in, and
// its countdown on the server's clock.
import type { Bid, Countdown, Lot } from "../auction-types.js";

export class WatchedLot {
  private readonly bySeq = new Map<number, Bid>();
  /** Server time minus this page's time, from the last countdown tick. */
  private clockOffset = 0;
  extended = false;

  constructor(public lot: Lot) {}

  /** Every bid, newest first: the same list on every page, since the store numbered them. */
  get bids(): Bid[] {
    return [...this.bySeq.values()].sort((a, b) => b.seq - a.seq);
  }

  /** Adds bids (a push, or the answer to Watch); the lot's state is taken from the newest seq seen. Returns whether anything was new. */
  add(bids: Bid[], lot: Lot): boolean {
    let added = false;
    for (const bid of bids) {
      if (this.bySeq.has(bid.seq)) continue; // sent twice (a resent bid, or both a push and an answer)
      this.bySeq.set(bid.seq, bid);
      added = true;
    }
    if (lot.seq >= this.lot.seq) {
      if (lot.endsAt > this.lot.endsAt && lot.seq > this.lot.seq) this.extended = true;
      this.lot = { ...lot, closed: lot.closed || this.lot.closed };
    }
    return added;
  }

  tick(countdown: Countdown): void {
    this.clockOffset = countdown.endsAt - countdown.remainingMs - Date.now();
    // The stream reads the store: its end time is current unless a push brought a later one.
    if (countdown.endsAt > this.lot.endsAt || countdown.closed) this.lot = { ...this.lot, endsAt: Math.max(countdown.endsAt, this.lot.endsAt), closed: this.lot.closed || countdown.closed };
  }

  close(lot: Lot): void {
    this.lot = { ...lot, closed: true };
  }

  /** Milliseconds left on the server's clock. */
  remainingMs(): number {
    return Math.max(0, this.lot.endsAt - (Date.now() + this.clockOffset));
  }
}

/** 75 s -> "1:15". */
export function formatRemaining(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}
