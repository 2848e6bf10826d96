import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubConnection, silentLogger as clientSilent } from "../../client/index.js";
import { startAuctionServer, type AuctionServer } from "../../samples/auction/app.js";
import { openLotsPerSeller } from "../../samples/auction/auction-hub.js";
import type { Countdown } from "../../samples/auction/auction-types.js";
import { issueToken } from "../../samples/auction/sample-auth.js";
import { auctionHub } from "../../samples/auction/web/generated/auction-hub.client.js";
import { generate } from "../../src/codegen/generate.js";
import { silentLogger } from "../../src/index.js";
import { eventually } from "../support/wait.js";

// The hub's edges, over hubwire's client and the generated proxy, on one in-memory server.
describe("the auction hub", () => {
  let server: AuctionServer;
  const connections: HubConnection[] = [];
  beforeAll(async () => {
    server = await startAuctionServer({ logger: silentLogger, rules: { antiSnipingMs: 500 } });
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.stop()));
    await server?.close();
  });

  async function connect(name: string) {
    const connection = new HubConnection(`${server.url}/hubs/auction`, { accessTokenFactory: () => issueToken({ name }), reconnect: false, logger: clientSilent });
    connections.push(connection);
    await connection.start();
    return auctionHub(connection);
  }

  it("has its generated client up to date (the page and these tests use it)", { timeout: 120_000 }, () => {
    const root = new URL("../../", import.meta.url).pathname;
    const { stale } = generate({
      files: [`${root}samples/auction/auction-hub.ts`],
      outDir: `${root}samples/auction/web/generated`,
      clientImport: "../../../../client/index.js",
      check: true,
    });
    expect(stale).toEqual([]);
  });

  it("refuses a connection without a token", async () => {
    const connection = new HubConnection(`${server.url}/hubs/auction`, { reconnect: false, logger: clientSilent });
    await expect(connection.start()).rejects.toMatchObject({ statusCode: 401 });
  });

  it("checks the seller's form, and keeps one seller to a few open lots", async () => {
    const hub = await connect("olga");
    await expect(hub.openLot({ title: " ", startingPrice: 1, durationSeconds: 60 })).rejects.toMatchObject({ hubMessage: "A title of 1-80 characters is required." });
    await expect(hub.openLot({ title: "Rug", startingPrice: 1.5, durationSeconds: 60 })).rejects.toMatchObject({ hubMessage: expect.stringMatching(/^The starting price must be a whole number/) });
    await expect(hub.openLot({ title: "Rug", startingPrice: 1, durationSeconds: 0 })).rejects.toMatchObject({ hubMessage: "The duration must be 1 to 86 400 seconds." });
    for (let i = 0; i < openLotsPerSeller; i++) await hub.openLot({ title: `Rug ${i}`, startingPrice: 1, durationSeconds: 60 });
    await expect(hub.openLot({ title: "One more", startingPrice: 1, durationSeconds: 60 })).rejects.toMatchObject({
      hubMessage: `At most ${openLotsPerSeller} of your lots may be open at once.`,
    });
  });

  it("refuses malformed bids and unknown lots with a reason", async () => {
    const seller = await connect("sid");
    const lot = await seller.openLot({ title: "Chair", startingPrice: 10, durationSeconds: 60 });
    const hub = await connect("una");
    await expect(hub.watch("no-such-lot")).rejects.toMatchObject({ hubMessage: "There is no such lot." });
    for (const [amount, bidId] of [[10.5, "ok-id"], [0, "ok-id"], [10, "not an id!"], [10, ""]] as const) {
      expect(await hub.placeBid(lot.id, amount, bidId)).toMatchObject({ accepted: false, reason: "invalid" });
    }
    expect(await hub.placeBid("no-such-lot", 10, "b1")).toMatchObject({ accepted: false, reason: "unknown-lot" });
  });

  it("does not place a bid far above the price that its bidder does not confirm", async () => {
    const seller = await connect("sue");
    const lot = await seller.openLot({ title: "Desk", startingPrice: 10, durationSeconds: 60 });
    const hub = await connect("vic"); // no confirmBid handler: the client answers with an error
    expect(await hub.placeBid(lot.id, 100, "big")).toMatchObject({ accepted: false, reason: "not-confirmed" });
    const ok = await connect("wes");
    ok.on({ confirmBid: (asked, amount) => asked.id === lot.id && amount === 100 });
    expect(await ok.placeBid(lot.id, 100, "big")).toMatchObject({ accepted: true, bid: { seq: 1, amount: 100 } });
  });

  it("streams the countdown until the lot closes, then tells the winner", async () => {
    const seller = await connect("sal");
    const lot = await seller.openLot({ title: "Lamp", startingPrice: 10, durationSeconds: 1 });
    const hub = await connect("xia");
    const won: string[] = [];
    hub.on({ won: (l) => void won.push(l.id) });
    expect(await hub.placeBid(lot.id, 10, "late")).toMatchObject({ accepted: true });
    const ticks: Countdown[] = [];
    for await (const tick of hub.countdown(lot.id)) ticks.push(tick);
    expect(ticks.at(-1)).toMatchObject({ lotId: lot.id, closed: true, remainingMs: 0 });
    expect(ticks.slice(0, -1).every((tick) => !tick.closed)).toBe(true);
    const remaining = ticks.map((tick) => tick.remainingMs);
    expect(remaining).toEqual([...remaining].sort((x, y) => y - x));
    await eventually(() => won, [lot.id]);
  });
});
