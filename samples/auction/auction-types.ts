/** What the auction sample sends and stores. Shared by the hub, the stores and the page. */

/** Amounts are whole currency units: integers, so that every store compares them exactly. */
export interface Bid {
  lotId: string;
  /** The lot-wide order of accepted bids, from 1: every page lists a lot's bids by it. */
  seq: number;
  bidder: string;
  amount: number;
  /** The bidder's idempotency key: a bid sent again with it is not applied twice. */
  bidId: string;
  /** Epoch milliseconds when the store accepted it. */
  at: number;
}

export interface Lot {
  id: string;
  title: string;
  seller: string;
  startingPrice: number;
  /** Each bid must beat the current price by at least this much. */
  increment: number;
  /** Epoch milliseconds; a bid near the end moves it later (anti-sniping). */
  endsAt: number;
  /** The highest accepted bid so far, or the starting price. */
  price: number;
  leader: string | null;
  /** The seq of the latest accepted bid (0: none yet). */
  seq: number;
  closed: boolean;
}

/** A lot with its bids, oldest first: what a watcher starts from. */
export interface LotDetails {
  lot: Lot;
  bids: Bid[];
}

/** What the seller's form sends. */
export interface OpenLotRequest {
  title: string;
  startingPrice: number;
  increment?: number;
  durationSeconds: number;
}

export type RefusalReason = "unknown-lot" | "closed" | "too-low" | "own-lot" | "leading" | "unconfirmed" | "not-confirmed" | "invalid";

/**
 * The store's answer to a bid. `duplicate` marks the answer to a bidId it had seen: the first
 * answer again, nothing applied a second time.
 */
export type BidOutcome =
  | { accepted: true; bid: Bid; lot: Lot; previousLeader: string | null; extended: boolean; duplicate: boolean }
  | { accepted: false; reason: RefusalReason; message: string; lot: Lot | null; duplicate: boolean };

/** How the hub answers PlaceBid: the outcome without the store's internals. */
export type BidResult =
  | { accepted: true; bid: Bid; duplicate: boolean }
  | { accepted: false; reason: RefusalReason; message: string; duplicate: boolean };

/** One tick of a lot's countdown, from the server. */
export interface Countdown {
  lotId: string;
  endsAt: number;
  remainingMs: number;
  closed: boolean;
}

/** A closed lot and who won it (null: no bids). */
export interface LotResult {
  lot: Lot;
  winner: string | null;
}

/** The functions the page handles: the hub's TClient. */
export interface AuctionClient {
  /** A bid on a watched lot was accepted; order by `bid.seq`. */
  bidPlaced(bid: Bid, lot: Lot): void;
  /** Someone outbid this user (every tab of theirs, on every server). */
  outbid(lot: Lot, bid: Bid): void;
  /** A new lot is open. */
  lotOpened(lot: Lot): void;
  /** A lot closed (sent to everyone). */
  lotClosed(result: LotResult): void;
  /** This user won a lot (every tab of theirs). */
  won(lot: Lot): void;
  /** A client result: the bid is far above the price; answer true to place it. */
  confirmBid(lot: Lot, amount: number): boolean;
}
