// The lot a page watches: its bids by seq, whichever order the pushes and answers arrive in, and
// its countdown on the server's clock.
import type { Bid, Countdown, Lot } from "../auction-types.js";

export class WatchedLot {
  private readonly bySeq = new Map<number, Bid>();
  /** Server time minus this page's time, from the last countdown tick. */
  private clockOffset = 0;
  /** The end time of the last tick: the stream reads the store, so it may be ahead of the pushes or behind them. */
  private tickedEndsAt = 0;
  private tickedClosed = false;
  /** A bid moved the end while this page watched (anti-sniping). */
  extended = false;

  /** `lot` changes only with bids (pushes and answers, newest seq wins) and with the close. */
  constructor(public lot: Lot) {}

  /** Every bid, newest first: the same list on every page, since the store numbered them. */
  get bids(): Bid[] {
    return [...this.bySeq.values()].sort((a, b) => b.seq - a.seq);
  }

  get endsAt(): number {
    return Math.max(this.lot.endsAt, this.tickedEndsAt);
  }

  get closed(): boolean {
    return this.lot.closed || this.tickedClosed;
  }

  /** Adds bids (a push, or the answer to Watch). Returns whether anything was new. */
  add(bids: Bid[], lot: Lot): boolean {
    let added = false;
    for (const bid of bids) {
      if (this.bySeq.has(bid.seq)) continue; // sent twice (a resent bid, or both a push and an answer)
      this.bySeq.set(bid.seq, bid);
      added = true;
    }
    if (lot.seq > this.lot.seq) {
      if (lot.endsAt > this.lot.endsAt) this.extended = true;
      this.lot = { ...lot, closed: lot.closed || this.lot.closed };
    }
    return added;
  }

  tick(countdown: Countdown): void {
    this.clockOffset = countdown.endsAt - countdown.remainingMs - Date.now();
    this.tickedEndsAt = countdown.endsAt;
    this.tickedClosed ||= countdown.closed;
  }

  close(lot: Lot): void {
    this.lot = { ...lot, closed: true };
  }

  /** Milliseconds left on the server's clock. */
  remainingMs(): number {
    return Math.max(0, this.endsAt - (Date.now() + this.clockOffset));
  }
}

/** 75 s -> "1:15". */
export function formatRemaining(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}
