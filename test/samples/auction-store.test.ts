import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { AuctionRules, AuctionStore } from "../../samples/auction/auction-store.js";
import { MemoryAuctionStore } from "../../samples/auction/memory-auction-store.js";
import { RedisAuctionStore } from "../../samples/auction/redis-auction-store.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";

// One contract, both stores. "Two servers" are two store instances: for Redis two connections
// racing on the same keys, for memory one store (one process has one).
const stores: Array<{ name: string; open(rules: AuctionRules): { a: AuctionStore; b: AuctionStore; close(): Promise<void> } }> = [
  {
    name: "memory",
    open(rules) {
      const store = new MemoryAuctionStore(rules);
      return { a: store, b: store, close: () => store.close() };
    },
  },
  {
    name: "redis",
    open(rules) {
      const prefix = `test-auction-${randomUUID()}:`;
      const a = new RedisAuctionStore(redisUrl, prefix, rules);
      const b = new RedisAuctionStore(redisUrl, prefix, rules);
      return {
        a,
        b,
        async close() {
          await Promise.all([a.close(), b.close()]);
          const redis = new Redis(redisUrl);
          const keys = await redis.keys(`${prefix}*`);
          if (keys.length > 0) await redis.del(...keys);
          await redis.quit();
        },
      };
    },
  },
];

describe.each(stores)("the $name auction store", ({ open }) => {
  let opened: ReturnType<typeof open> | undefined;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });
  const lotRequest = { title: "Lamp", startingPrice: 10, increment: 5, durationSeconds: 60 };

  it("accepts a bid from the minimum, refuses with reasons, and numbers accepted bids 1, 2, 3", async () => {
    const { a } = (opened = open({ antiSnipingMs: 1000 }));
    const lot = await a.openLot("sam", lotRequest);
    expect(await a.bid(lot.id, "ann", 9, "b1", false)).toMatchObject({ accepted: false, reason: "too-low" });
    expect(await a.bid(lot.id, "sam", 10, "b2", false)).toMatchObject({ accepted: false, reason: "own-lot" });
    expect(await a.bid("nope", "ann", 10, "b3", false)).toMatchObject({ accepted: false, reason: "unknown-lot" });
    expect(await a.bid(lot.id, "ann", 10, "b4", false)).toMatchObject({ accepted: true, bid: { seq: 1, amount: 10, bidder: "ann" }, previousLeader: null });
    expect(await a.bid(lot.id, "ann", 20, "b5", false)).toMatchObject({ accepted: false, reason: "leading" });
    expect(await a.bid(lot.id, "bob", 14, "b6", false)).toMatchObject({ accepted: false, reason: "too-low" });
    expect(await a.bid(lot.id, "bob", 15, "b7", false)).toMatchObject({ accepted: true, bid: { seq: 2 }, previousLeader: "ann" });
    // Far above the price: refused until confirmed.
    expect(await a.bid(lot.id, "ann", 31, "b8", false)).toMatchObject({ accepted: false, reason: "unconfirmed" });
    expect(await a.bid(lot.id, "ann", 31, "b8", true)).toMatchObject({ accepted: true, bid: { seq: 3, amount: 31 }, previousLeader: "bob", extended: false });
    const details = await a.details(lot.id);
    expect(details?.bids.map((bid) => [bid.seq, bid.bidder, bid.amount])).toEqual([
      [1, "ann", 10],
      [2, "bob", 15],
      [3, "ann", 31],
    ]);
    expect(details?.lot).toMatchObject({ price: 31, leader: "ann", seq: 3, closed: false });
    expect((await a.lots()).map((l) => l.id)).toEqual([lot.id]);
  });

  it("applies a bid sent again with its bid id once, and answers with the first bid", async () => {
    const { a, b } = (opened = open({ antiSnipingMs: 1000 }));
    const lot = await a.openLot("sam", lotRequest);
    const first = await a.bid(lot.id, "ann", 10, "same-id", false);
    const again = await b.bid(lot.id, "ann", 10, "same-id", false);
    expect(first).toMatchObject({ accepted: true, duplicate: false });
    expect(again).toMatchObject({ accepted: true, duplicate: true, bid: first.accepted ? first.bid : {} });
    // Another bidder's key with the same text is another bid.
    expect(await b.bid(lot.id, "bob", 15, "same-id", false)).toMatchObject({ accepted: true, duplicate: false, bid: { seq: 2 } });
    expect((await a.details(lot.id))?.bids).toHaveLength(2);
  });

  it("lets one of two equal bids at the same instant win, every time", async () => {
    const { a, b } = (opened = open({ antiSnipingMs: 1000 }));
    const lot = await a.openLot("sam", { ...lotRequest, startingPrice: 1, increment: 1 });
    for (let round = 1; round <= 50; round++) {
      const amount = round * 2; // never twice the price: no confirmation asked
      const outcomes = await Promise.all([a.bid(lot.id, `x${round}`, amount, `x${round}`, false), b.bid(lot.id, `y${round}`, amount, `y${round}`, false)]);
      expect(outcomes.filter((outcome) => outcome.accepted)).toHaveLength(1);
      expect(outcomes.find((outcome) => !outcome.accepted)).toMatchObject({ reason: "too-low" });
    }
    const { bids } = (await a.details(lot.id))!;
    expect(bids.map((bid) => bid.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("moves the end of a lot when a bid comes within the anti-sniping window, and closes it once for two servers", async () => {
    const { a, b } = (opened = open({ antiSnipingMs: 1500 }));
    const lot = await a.openLot("sam", { ...lotRequest, durationSeconds: 1 });
    const outcome = await a.bid(lot.id, "ann", 10, "late", false);
    expect(outcome).toMatchObject({ accepted: true, extended: true });
    if (!outcome.accepted) return;
    expect(outcome.lot.endsAt).toBeGreaterThan(lot.endsAt);
    expect(outcome.lot.endsAt - outcome.bid.at).toBe(1500);
    const closed: string[] = [];
    await waitFor(async () => {
      const [fromA, fromB] = await Promise.all([a.closeDue(), b.closeDue()]);
      for (const result of [...fromA, ...fromB]) closed.push(`${result.lot.id} won by ${result.winner}`);
      return closed.length > 0;
    }, "the lot to close");
    expect(Date.now()).toBeGreaterThanOrEqual(outcome.lot.endsAt);
    expect([...(await a.closeDue()), ...(await b.closeDue())]).toEqual([]);
    expect(closed).toEqual([`${lot.id} won by ann`]);
    expect(await b.bid(lot.id, "bob", 100, "too-late", true)).toMatchObject({ accepted: false, reason: "closed" });
    expect((await b.lot(lot.id))?.closed).toBe(true);
  });
});
