import { Redis } from "ioredis";
import { AuctionStore, confirmationFactor, defaultRules, listedLots, newLot, refusalTexts, type AuctionRules, type ValidLotRequest } from "./auction-store.js";
import type { Bid, BidOutcome, Lot, LotDetails, LotResult, RefusalReason } from "./auction-types.js";
import { bidScript, closeScript } from "./redis-auction-scripts.js";

/**
 * The auction in Redis, shared by every instance. Keys (after the prefix): `lot-ids` (counter),
 * `lots` (zset of ids by number, for the list), `open` (zset of open lot ids by end time),
 * `lot:<id>` (hash), `bids:<id>` (list of bid JSON, seq 1 first), `bid-ids:<id>` (hash
 * `bidder bidId` -> seq). Bids and closes run as Lua scripts (redis-auction-scripts.ts).
 */
export class RedisAuctionStore extends AuctionStore {
  private readonly redis: Redis;

  /** `keyPrefix` starts every key, so that the sample can share a Redis with other data. */
  constructor(
    url: string,
    keyPrefix = "hubwire-auction:",
    private readonly rules: AuctionRules = defaultRules,
  ) {
    super();
    this.redis = new Redis(url, { keyPrefix });
    this.redis.defineCommand("auctionBid", { numberOfKeys: 4, lua: bidScript });
    this.redis.defineCommand("auctionClose", { numberOfKeys: 2, lua: closeScript });
  }

  async openLot(seller: string, request: ValidLotRequest): Promise<Lot> {
    const id = String(await this.redis.incr("lot-ids"));
    const [seconds, micros] = await this.redis.time();
    const lot = newLot(id, seller, request, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    const fields = { ...lot, leader: "", closed: "0" };
    const replies = await this.redis.multi().hset(`lot:${id}`, fields).zadd("lots", id, id).zadd("open", lot.endsAt, id).exec();
    for (const [error] of replies ?? []) if (error) throw error;
    return lot;
  }

  async lots(): Promise<Lot[]> {
    const ids = await this.redis.zrevrange("lots", 0, listedLots - 1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(`lot:${id}`);
    return ((await pipeline.exec()) ?? []).map(([error, fields]) => {
      if (error) throw error;
      return parseLot(fields as Record<string, string>);
    });
  }

  async lot(id: string): Promise<Lot | null> {
    const fields = await this.redis.hgetall(`lot:${id}`);
    return fields.id ? parseLot(fields) : null;
  }

  async details(id: string): Promise<LotDetails | null> {
    const replies = await this.redis.multi().hgetall(`lot:${id}`).lrange(`bids:${id}`, 0, -1).exec();
    const [[lotError, fields], [bidsError, bids]] = replies as [[Error | null, Record<string, string>], [Error | null, string[]]];
    if (lotError || bidsError) throw lotError ?? bidsError;
    if (!fields.id) return null;
    return { lot: parseLot(fields), bids: bids.map((bid) => JSON.parse(bid) as Bid) };
  }

  async bid(lotId: string, bidder: string, amount: number, bidId: string, confirmed: boolean): Promise<BidOutcome> {
    const keys = [`lot:${lotId}`, `bids:${lotId}`, `bid-ids:${lotId}`, "open"];
    const [status, reason, bid, previousLeader, extended, ...fields] = (await (this.redis as RedisWithScripts).auctionBid(
      ...keys,
      bidder,
      amount,
      bidId,
      this.rules.antiSnipingMs,
      confirmed ? 1 : 0,
      confirmationFactor,
    )) as string[];
    const lot = fields.length > 0 ? parseLot(pairs(fields)) : null;
    if (status === "refused") return { accepted: false, reason: reason as RefusalReason, message: refusalTexts[reason as RefusalReason], lot, duplicate: false };
    return { accepted: true, bid: JSON.parse(bid!) as Bid, lot: lot!, previousLeader: previousLeader || null, extended: extended === "1", duplicate: status === "duplicate" };
  }

  async closeDue(): Promise<LotResult[]> {
    const due = await this.redis.zrangebyscore("open", "-inf", Date.now());
    const results: LotResult[] = [];
    for (const id of due) {
      const fields = (await (this.redis as RedisWithScripts).auctionClose(`lot:${id}`, "open")) as string[];
      if (fields.length === 0) continue; // another instance closed it, or a bid moved its end
      const lot = parseLot(pairs(fields));
      results.push({ lot, winner: lot.leader });
    }
    return results;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

type RedisWithScripts = Redis & {
  auctionBid(...args: (string | number)[]): Promise<unknown>;
  auctionClose(...args: string[]): Promise<unknown>;
};

function pairs(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

function parseLot(fields: Record<string, string>): Lot {
  return {
    id: fields.id!,
    title: fields.title!,
    seller: fields.seller!,
    startingPrice: Number(fields.startingPrice),
    increment: Number(fields.increment),
    endsAt: Number(fields.endsAt),
    price: Number(fields.price),
    leader: fields.leader || null,
    seq: Number(fields.seq),
    closed: fields.closed === "1",
  };
}
