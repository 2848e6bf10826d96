import { AuctionStore, defaultRules, listedLots, minimumBid, newLot, needsConfirmation, refusalTexts, type AuctionRules, type ValidLotRequest } from "./auction-store.js";
import type { Bid, BidOutcome, Lot, LotDetails, LotResult, RefusalReason } from "./auction-types.js";

interface LotState {
  lot: Lot;
  bids: Bid[];
  /** `bidder bidId` -> the seq of the bid it placed. */
  bidIds: Map<string, number>;
}

/** The auction in this process. Each method runs in one JavaScript turn, so each is atomic. */
export class MemoryAuctionStore extends AuctionStore {
  private readonly lotsById = new Map<string, LotState>();
  private nextId = 0;

  constructor(private readonly rules: AuctionRules = defaultRules) {
    super();
  }

  async openLot(seller: string, request: ValidLotRequest): Promise<Lot> {
    const id = String(++this.nextId);
    const lot = newLot(id, seller, request, Date.now());
    this.lotsById.set(id, { lot, bids: [], bidIds: new Map() });
    return { ...lot };
  }

  async lots(): Promise<Lot[]> {
    return [...this.lotsById.values()]
      .slice(-listedLots)
      .reverse()
      .map((state) => ({ ...state.lot }));
  }

  async lot(id: string): Promise<Lot | null> {
    const state = this.lotsById.get(id);
    return state ? { ...state.lot } : null;
  }

  async details(id: string): Promise<LotDetails | null> {
    const state = this.lotsById.get(id);
    return state ? { lot: { ...state.lot }, bids: [...state.bids] } : null;
  }

  async bid(lotId: string, bidder: string, amount: number, bidId: string, confirmed: boolean): Promise<BidOutcome> {
    const state = this.lotsById.get(lotId);
    if (!state) return refused("unknown-lot", null);
    const { lot } = state;
    const key = `${bidder} ${bidId}`;
    const seen = state.bidIds.get(key);
    if (seen !== undefined) return { accepted: true, bid: state.bids[seen - 1]!, lot: { ...lot }, previousLeader: null, extended: false, duplicate: true };
    const now = Date.now();
    if (lot.closed || now >= lot.endsAt) return refused("closed", lot);
    if (lot.seller === bidder) return refused("own-lot", lot);
    if (lot.leader === bidder) return refused("leading", lot);
    if (amount < minimumBid(lot)) return refused("too-low", lot);
    if (!confirmed && needsConfirmation(lot, amount)) return refused("unconfirmed", lot);
    const previousLeader = lot.leader;
    const extended = lot.endsAt - now < this.rules.antiSnipingMs;
    const bid: Bid = { lotId, seq: lot.seq + 1, bidder, amount, bidId, at: now };
    Object.assign(lot, { seq: bid.seq, price: amount, leader: bidder, endsAt: extended ? now + this.rules.antiSnipingMs : lot.endsAt });
    state.bids.push(bid);
    state.bidIds.set(key, bid.seq);
    return { accepted: true, bid, lot: { ...lot }, previousLeader, extended, duplicate: false };
  }

  async closeDue(): Promise<LotResult[]> {
    const now = Date.now();
    const results: LotResult[] = [];
    for (const { lot } of this.lotsById.values()) {
      if (lot.closed || lot.endsAt > now) continue;
      lot.closed = true;
      results.push({ lot: { ...lot }, winner: lot.leader });
    }
    return results;
  }

  async close(): Promise<void> {}
}

function refused(reason: RefusalReason, lot: Lot | null): BidOutcome {
  return { accepted: false, reason, message: refusalTexts[reason], lot: lot && { ...lot }, duplicate: false };
}
