import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAuctionServer, type AuctionServer } from "../../samples/auction/app.js";
import { silentLogger } from "../../src/index.js";
import { launchChromium } from "../browser/chromium.js";
import { redisUrl } from "../support/redis.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { eventually } from "../support/wait.js";
import { bid, bundleAuctionPage, history, historyHas, openLot, signIn, watch } from "./auction-page.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
// The README shows docs/auction.png; set HUBWIRE_SCREENSHOT=1 to refresh it from this run.
const screenshot = process.env.HUBWIRE_SCREENSHOT ? `${root}docs/auction.png` : join(tmpdir(), "hubwire-auction.png");
const antiSnipingMs = 3000;

// Two instances sharing Redis behind a round-robin balancer without sticky sessions; each
// person's page lands on one or the other.
describe("the auction sample in a real browser, on two servers", () => {
  let browser: Browser;
  let servers: AuctionServer[];
  let proxy: RoundRobinProxy;
  let bundle: Uint8Array;
  const prefix = `test-auction-${randomUUID()}`;

  beforeAll(async () => {
    bundle = await bundleAuctionPage();
    servers = await Promise.all([0, 1].map(() => startAuctionServer({ logger: silentLogger, redis: { url: redisUrl, prefix }, rules: { antiSnipingMs } })));
    // The four pages' sockets alternate between the servers, however their other requests interleave.
    proxy = await startRoundRobinProxy(servers.map((server) => server.url), { upgradesInTurn: true });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all((servers ?? []).map((server) => server.close()));
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const notices = (page: Page) => page.$$eval("#notices li", (items) => items.map((item) => item.textContent));
  const endsAt = async (page: Page) => Number(await page.getAttribute("#countdown", "data-ends-at"));

  it("lets three bidders at once have one winner, the same history, outbid notices, and an end moved by a late bid", async () => {
    const [sam, ann, bob, cat] = (await Promise.all(["sam", "ann", "bob", "cat"].map((name) => signIn(browser, bundle, proxy.url, name)))) as [Page, Page, Page, Page];
    const everyone = [sam, ann, bob, cat];

    // The seller opens a lot from the form; every page lists it and the bidders watch it.
    await openLot(sam, "Brass clock", 20, 12);
    const bidders = { ann, bob, cat };
    await Promise.all(Object.values(bidders).map((page) => watch(page, "Brass clock")));

    // Three equal bids at the same moment: one is accepted, two refused.
    const first = await Promise.all(Object.values(bidders).map((page) => bid(page, 20)));
    const winners = Object.keys(bidders).filter((_, i) => first[i]!.startsWith("result accepted"));
    expect(winners, first.join(" | ")).toHaveLength(1);
    expect(first.filter((answer) => answer === "result refused: Someone bid first: the price has moved.")).toHaveLength(2);
    const [leader, second, third] = [winners[0]!, ...Object.keys(bidders).filter((name) => name !== winners[0])] as [string, string, string];
    const page = (name: string) => bidders[name as keyof typeof bidders];

    // Outbid in turn; a bid far above the price asks first (cancelled, then confirmed).
    expect(await bid(page(second), 21)).toMatch(/^result accepted/);
    expect(await bid(page(third), 500, false)).toBe("result refused: You did not confirm the bid.");
    expect(await bid(page(third), 50, true)).toMatch(/^result accepted/);
    await Promise.all(everyone.map((p) => historyHas(p, 3)));

    // A late bid, within the anti-sniping window, moves the end for everyone.
    await page(leader).waitForFunction((ms) => Number(document.querySelector("#countdown")?.getAttribute("data-remaining-ms")) < ms - 500, antiSnipingMs, {
      timeout: 20_000,
    });
    const before = await endsAt(page(leader));
    expect(await bid(page(leader), 60)).toMatch(/^result accepted/);
    await Promise.all(everyone.map((p) => p.waitForFunction((t) => Number(document.querySelector("#countdown")?.getAttribute("data-ends-at")) > t, before)));
    await Promise.all(everyone.map((p) => p.waitForSelector("#extended:not([hidden])")));
    await page(leader).screenshot({ path: screenshot });

    // It closes: every page shows it closed and sold, and the winner is told.
    await Promise.all(everyone.map((p) => p.waitForSelector("#countdown.closed", { timeout: 20_000 })));
    for (const p of everyone) await eventually(() => p.textContent("#bid-result"), `Sold to ${leader} for 60.`);

    const expected = [`#4${leader}60`, `#3${third}50`, `#2${second}21`, `#1${leader}20`];
    for (const p of everyone) await eventually(() => history(p), expected);
    await eventually(() => notices(page(leader)), ["You won Brass clock for 60.", `Outbid on Brass clock: ${second} bid 21.`]);
    await eventually(() => notices(page(second)), [`Outbid on Brass clock: ${third} bid 50.`]);
    await eventually(() => notices(page(third)), [`Outbid on Brass clock: ${leader} bid 60.`]);
    expect(await notices(sam)).toEqual([]);
    // The pages were spread over both servers.
    expect(proxy.seen.every((kinds) => kinds.includes("upgrade"))).toBe(true);
  }, 90_000);
});
