import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAuctionServer, type AuctionServer } from "../../samples/auction/app.js";
import type { Bid, BidResult, Lot, LotDetails } from "../../samples/auction/auction-types.js";
import { issueToken } from "../../samples/auction/sample-auth.js";
import { silentLogger } from "../../src/index.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";

const bidders = 200;
const attemptsEach = 5;
/** A bidder thinks this long (at random, in ms) before each bid: load shaped like people, not one burst on stale prices. */
const thinkMs = [50, 1500] as const;
/** Every this many accepted bids, the bidder sends it again on the other server, as a page does after reconnecting. */
const resendEvery = 10;

/** One scripted bidder: an official client and what it saw. */
interface Bidder {
  name: string;
  connections: [HubConnection, HubConnection]; // [its server, the other one]
  /** seq -> bid, and when it arrived here. */
  seen: Map<number, { bid: Bid; at: number }>;
  price: number;
  outbids: number;
}

describe("the auction sample under load: 200 bidders over the official client on two servers", () => {
  let servers: AuctionServer[];
  const prefix = `test-auction-load-${randomUUID()}`;
  const all: Bidder[] = [];

  beforeAll(async () => {
    servers = await Promise.all([0, 1].map(() => startAuctionServer({ logger: silentLogger, redis: { url: redisUrl, prefix } })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(all.flatMap((bidder) => bidder.connections.map((c) => c.stop())));
    await Promise.all((servers ?? []).map((server) => server.close()));
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  function connect(server: AuctionServer, name: string, bidder: Bidder | undefined): HubConnection {
    const token = issueToken({ name });
    const connection = new HubConnectionBuilder()
      .withUrl(`${server.url}/hubs/auction`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token })
      .configureLogging(LogLevel.None)
      .build();
    if (bidder) {
      connection.on("bidPlaced", (bid: Bid, lot: Lot) => {
        if (!bidder.seen.has(bid.seq)) bidder.seen.set(bid.seq, { bid, at: performance.now() });
        bidder.price = Math.max(bidder.price, lot.price);
      });
      connection.on("outbid", () => void bidder.outbids++);
      connection.on("confirmBid", () => true);
    }
    return connection;
  }

  it("loses and doubles no bid, shows every bidder the same bids in the same order, and reports bid-to-watcher latency", async () => {
    const [a, b] = servers as [AuctionServer, AuctionServer];
    const seller = connect(a, "seller", undefined);
    await seller.start();
    const lot = await seller.invoke<Lot>("OpenLot", { title: "Painting", startingPrice: 1000, increment: 1, durationSeconds: 3600 });
    await seller.stop();

    for (let i = 0; i < bidders; i++) {
      const name = `bidder-${i}`;
      const bidder = { name, seen: new Map(), price: lot.price, outbids: 0 } as unknown as Bidder;
      const [home, other] = i % 2 === 0 ? [a, b] : [b, a];
      bidder.connections = [connect(home, name, bidder), connect(other, name, undefined)];
      all.push(bidder);
    }
    for (let i = 0; i < all.length; i += 20) await Promise.all(all.slice(i, i + 20).flatMap((bidder) => bidder.connections.map((c) => c.start())));
    await Promise.all(all.map(async (bidder) => {
      const details = await bidder.connections[0].invoke<LotDetails>("Watch", lot.id);
      for (const bid of details.bids) if (!bidder.seen.has(bid.seq)) bidder.seen.set(bid.seq, { bid, at: performance.now() });
    }));

    // Everyone bids at once, each a little above the price it last saw; a few bid far above it
    // (the hub asks them to confirm, a client result over the official client).
    const sentAt = new Map<string, number>();
    const confirmedIds = new Set<string>();
    const accepted: Bid[] = [];
    const refusals = new Map<string, number>();
    const resends: Array<{ first: Bid; again: BidResult }> = [];
    const started = performance.now();
    await Promise.all(
      all.map(async (bidder, index) => {
        for (let attempt = 0; attempt < attemptsEach; attempt++) {
          await sleep(thinkMs[0] + Math.random() * (thinkMs[1] - thinkMs[0]));
          const farAbove = attempt === 0 && index < 3;
          const amount = farAbove ? bidder.price * 3 : bidder.price + 1 + Math.floor(Math.random() * 40);
          const bidId = randomUUID();
          if (farAbove) confirmedIds.add(bidId);
          sentAt.set(bidId, performance.now());
          const result = await bidder.connections[0].invoke<BidResult>("PlaceBid", lot.id, amount, bidId);
          if (!result.accepted) {
            refusals.set(result.reason, (refusals.get(result.reason) ?? 0) + 1);
            continue;
          }
          expect(result.duplicate).toBe(false);
          accepted.push(result.bid);
          bidder.price = Math.max(bidder.price, result.bid.amount);
          if (accepted.length % resendEvery === 0) {
            resends.push({ first: result.bid, again: await bidder.connections[1].invoke<BidResult>("PlaceBid", lot.id, amount, bidId) });
          }
        }
      }),
    );
    const biddingMs = performance.now() - started;

    // The store's history: every accepted bid once, numbered 1..n with no gap.
    const reader = connect(a, "reader", undefined);
    await reader.start();
    const history = (await reader.invoke<LotDetails>("Watch", lot.id)).bids;
    await reader.stop();
    // Enough for contention to matter (most bids lose races against bids on a price they had not seen yet).
    expect(accepted.length).toBeGreaterThan(40);
    expect([...refusals.keys()].filter((reason) => reason !== "too-low" && reason !== "leading")).toEqual([]);
    expect(history.map((bid) => bid.seq)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
    expect(history.length).toBe(accepted.length); // none lost
    expect(new Set(history.map((bid) => bid.bidId)).size).toBe(history.length); // none doubled
    expect([...accepted].sort((x, y) => x.seq - y.seq)).toEqual(history);
    for (let i = 1; i < history.length; i++) expect(history[i]!.amount).toBeGreaterThan(history[i - 1]!.amount);
    expect(resends.length).toBeGreaterThan(0);
    for (const { first, again } of resends) expect(again).toEqual({ accepted: true, bid: first, duplicate: true });
    expect(confirmedIds.size).toBe(3);
    expect(history.filter((bid) => confirmedIds.has(bid.bidId)).length).toBeGreaterThan(0);

    // Every bidder's view ends the same as the store's.
    await waitFor(() => all.every((bidder) => bidder.seen.size === history.length), () => `every bidder to see ${history.length} bids (fewest: ${Math.min(...all.map((b) => b.seen.size))})`, 30_000);
    for (const bidder of all) expect([...bidder.seen.values()].map((s) => s.bid).sort((x, y) => x.seq - y.seq)).toEqual(history);

    // From a bid's send to its arrival at each watcher (bids that waited for a confirmation left out).
    const latencies: number[] = [];
    for (const bid of history) {
      if (confirmedIds.has(bid.bidId)) continue;
      const sent = sentAt.get(bid.bidId)!;
      for (const bidder of all) latencies.push(bidder.seen.get(bid.seq)!.at - sent);
    }
    latencies.sort((x, y) => x - y);
    const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
    console.log(
      `auction load: ${bidders} bidders on 2 servers, ${bidders * attemptsEach} bids in ${(biddingMs / 1000).toFixed(1)} s: ` +
        `${history.length} accepted, refused ${JSON.stringify(Object.fromEntries(refusals))}, ${resends.length} sent again (applied once); ` +
        `bid to every watcher over ${latencies.length} deliveries: p50 ${percentile(50)} ms, p99 ${percentile(99)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
    );
  }, 180_000);
});
