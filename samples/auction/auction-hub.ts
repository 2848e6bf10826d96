import { setTimeout as sleep } from "node:timers/promises";
import { Authorize, Hub, HubClass, HubException, HubMethod } from "../../src/index.js";
import { AuctionStore, isValidBidId, isWholeAmount, refusalTexts, validLotRequest } from "./auction-store.js";
import type { AuctionClient, BidResult, Countdown, Lot, LotDetails, OpenLotRequest } from "./auction-types.js";
import { closeCheckMs, lotGroup } from "./lot-closer.js";
import type { Bidder } from "./sample-auth.js";

/** How many of a seller's lots may be open at once: one user cannot fill the list. */
export const openLotsPerSeller = 5;

/** How long a bidder has to confirm a bid far above the price. */
export const confirmTimeoutMs = 30_000;

/**
 * A live auction: signed-in users open lots, watch them (a group per lot) and bid. The store
 * accepts or refuses each bid atomically across servers; this hub tells the lot's watchers,
 * the bidder who was outbid (every tab of theirs), and asks a bidder to confirm a bid far
 * above the price (a client result).
 */
@Authorize()
@HubClass()
export class AuctionHub extends Hub<AuctionClient> {
  constructor(private readonly store: AuctionStore) {
    super();
  }

  private get user(): Bidder {
    return this.context.user as Bidder;
  }

  /** Who this is, and the newest lots. */
  @HubMethod("GetState")
  async getState(): Promise<{ user: string; lots: Lot[] }> {
    return { user: this.user.name, lots: await this.store.lots() };
  }

  /** The seller's form: opens a lot and tells everyone. */
  @HubMethod("OpenLot")
  async openLot(request: OpenLotRequest): Promise<Lot> {
    const valid = validLotRequest(request);
    if (typeof valid === "string") throw new HubException(valid);
    const open = (await this.store.lots()).filter((lot) => !lot.closed && lot.seller === this.user.name);
    if (open.length >= openLotsPerSeller) throw new HubException(`At most ${openLotsPerSeller} of your lots may be open at once.`);
    const lot = await this.store.openLot(this.user.name, valid);
    await this.clients.all.lotOpened(lot);
    return lot;
  }

  /** Joins the lot's watchers (this connection) and returns the lot with every bid so far. */
  @HubMethod("Watch")
  async watch(lotId: string): Promise<LotDetails> {
    // Join first: a bid accepted between the two steps then arrives as a push as well as in the
    // answer, and the page drops the copy by its seq. The other order could miss it.
    await this.groups.addToGroup(this.context.connectionId, lotGroup(String(lotId)));
    const details = await this.store.details(String(lotId));
    if (!details) {
      await this.groups.removeFromGroup(this.context.connectionId, lotGroup(String(lotId)));
      throw new HubException("There is no such lot.");
    }
    return details;
  }

  @HubMethod("Unwatch")
  async unwatch(lotId: string): Promise<void> {
    await this.groups.removeFromGroup(this.context.connectionId, lotGroup(String(lotId)));
  }

  /**
   * Bids `amount` on a lot. `bidId` is the bidder's idempotency key: the page makes one per bid
   * and sends it again if the connection dropped before the answer came, and the store applies
   * it at most once.
   */
  @HubMethod("PlaceBid")
  async placeBid(lotId: string, amount: number, bidId: string): Promise<BidResult> {
    if (typeof lotId !== "string" || !isWholeAmount(amount) || !isValidBidId(bidId)) {
      return { accepted: false, reason: "invalid", message: refusalTexts.invalid, duplicate: false };
    }
    const bidder = this.user.name;
    let outcome = await this.store.bid(lotId, bidder, amount, bidId, false);
    if (!outcome.accepted && outcome.reason === "unconfirmed") {
      const confirmed = await this.clients.caller
        .withOptions({ timeout: confirmTimeoutMs })
        .invoke("confirmBid", outcome.lot!, amount)
        .catch(() => false); // no answer in time, or the tab went away: not confirmed
      if (confirmed !== true) return { accepted: false, reason: "not-confirmed", message: refusalTexts["not-confirmed"], duplicate: false };
      outcome = await this.store.bid(lotId, bidder, amount, bidId, true);
    }
    if (!outcome.accepted) return { accepted: false, reason: outcome.reason, message: outcome.message, duplicate: outcome.duplicate };
    const { bid, lot, previousLeader } = outcome;
    // Sent again for a duplicate too: if the first attempt's server stopped before telling the
    // watchers, they hear it now; pages drop a seq they have.
    await this.clients.group(lotGroup(lotId)).bidPlaced(bid, lot);
    if (previousLeader && previousLeader !== bidder) await this.clients.user(previousLeader).outbid(lot, bid);
    return { accepted: true, bid, duplicate: outcome.duplicate };
  }

  /** The lot's countdown from the server: now, then on every whole second left, until it closes. */
  @HubMethod("Countdown")
  async *countdown(lotId: string): AsyncGenerator<Countdown> {
    while (!this.signal.aborted) {
      const lot = await this.store.lot(String(lotId));
      if (!lot) throw new HubException("There is no such lot.");
      const remainingMs = Math.max(0, lot.endsAt - Date.now());
      yield { lotId: lot.id, endsAt: lot.endsAt, remainingMs, closed: lot.closed };
      if (lot.closed) return;
      // To the next whole second left (at least 50 ms), so that a page shows each second; once
      // the time is up, until a server has closed the lot.
      const wait = remainingMs === 0 ? closeCheckMs : Math.max(50, remainingMs % 1000 || 1000);
      await sleep(wait, undefined, { signal: this.signal }).catch(() => undefined);
    }
  }
}
