import type { BidOutcome, Lot, LotDetails, LotResult, OpenLotRequest } from "./auction-types.js";

/** How the sample's stores keep the rules. */
export interface AuctionRules {
  /** A bid accepted with less than this left moves the end to this long after the bid. */
  antiSnipingMs: number;
}

export const defaultRules: AuctionRules = { antiSnipingMs: 10_000 };

/** How many lots the list shows, newest first. */
export const listedLots = 50;

/**
 * The auction's state, and the one place where bids are accepted or refused. Each `bid` is
 * atomic across every server sharing the store: it checks the lot, the price, the bidder and
 * the bid's idempotency key, and applies the bid, in one step (one JavaScript turn in memory,
 * one Lua script in Redis), so two equal bids never both win, seqs have no gaps or repeats, and
 * a bid sent again (after a reconnect) is answered as the first time, not applied twice.
 * An abstract class rather than an interface: typedi injects it into the hub by this class.
 */
export abstract class AuctionStore {
  abstract openLot(seller: string, request: ValidLotRequest): Promise<Lot>;
  /** The newest `listedLots` lots, open and closed, newest first. */
  abstract lots(): Promise<Lot[]>;
  abstract lot(id: string): Promise<Lot | null>;
  /** The lot and its bids, oldest first. */
  abstract details(id: string): Promise<LotDetails | null>;
  /**
   * Places a bid, or refuses it with a reason. A bid far above the price (`needsConfirmation`)
   * is refused with `unconfirmed` unless `confirmed`: the hub asks the bidder, then bids again.
   */
  abstract bid(lotId: string, bidder: string, amount: number, bidId: string, confirmed: boolean): Promise<BidOutcome>;
  /** Closes every lot past its end; each closed lot is returned to exactly one caller, whichever server asks. */
  abstract closeDue(): Promise<LotResult[]>;
  abstract close(): Promise<void>;
}

export type ValidLotRequest = Required<OpenLotRequest>;

/** The seller's form checked: a title, whole positive amounts, 1 s to 24 h. */
export function validLotRequest(request: OpenLotRequest): ValidLotRequest | string {
  const title = typeof request?.title === "string" ? request.title.trim() : "";
  const increment = request?.increment ?? 1;
  if (!title || title.length > 80) return "A title of 1-80 characters is required.";
  if (!isWholeAmount(request?.startingPrice)) return "The starting price must be a whole number from 1 to 1 000 000 000.";
  if (!isWholeAmount(increment)) return "The increment must be a whole number from 1 to 1 000 000 000.";
  const duration = request?.durationSeconds;
  if (!Number.isInteger(duration) || duration < 1 || duration > 86_400) return "The duration must be 1 to 86 400 seconds.";
  return { title, startingPrice: request.startingPrice, increment, durationSeconds: duration as number };
}

/** A lot just opened: no bids, its price the starting price, ending `durationSeconds` after `nowMs`. */
export function newLot(id: string, seller: string, request: ValidLotRequest, nowMs: number): Lot {
  const { title, startingPrice, increment, durationSeconds } = request;
  return { id, title, seller, startingPrice, increment, endsAt: nowMs + durationSeconds * 1000, price: startingPrice, leader: null, seq: 0, closed: false };
}

export function isWholeAmount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1_000_000_000;
}

/** A bid's idempotency key: what a page makes with crypto.randomUUID(), or anything as plain. */
export function isValidBidId(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

/** The lowest amount the next bid may have: the starting price, then the price plus the increment. */
export function minimumBid(lot: Lot): number {
  return lot.seq === 0 ? lot.startingPrice : lot.price + lot.increment;
}

/** A bid above twice the current price asks its bidder to confirm first: a typo of a zero costs a lot. */
export const confirmationFactor = 2;

export function needsConfirmation(lot: Lot, amount: number): boolean {
  return amount > lot.price * confirmationFactor;
}

export const refusalTexts = {
  "unknown-lot": "There is no such lot.",
  closed: "The lot is closed.",
  "too-low": "Someone bid first: the price has moved.",
  "own-lot": "You cannot bid on your own lot.",
  leading: "You are leading already.",
  unconfirmed: "The bid is far above the price: confirm it first.",
  "not-confirmed": "You did not confirm the bid.",
  invalid: "A bid is a whole amount from 1 to 1 000 000 000, with a bid id of 1-64 letters, digits, - or _.",
} as const;
