import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAuctionServer, type AuctionServer } from "../../samples/auction/app.js";
import { silentLogger } from "../../src/index.js";
import { launchChromium } from "../browser/chromium.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { answer, bid, bundleAuctionPage, history, historyHas, openLot, signIn, synced, watch } from "./auction-page.js";

describe("the auction page when connecting goes wrong", () => {
  let browser: Browser;
  let server: AuctionServer;
  let proxy: TcpProxy;
  let bundle: Uint8Array;

  beforeAll(async () => {
    bundle = await bundleAuctionPage();
    server = await startAuctionServer({ logger: silentLogger });
    proxy = await startTcpProxy(Number(new URL(server.url).port));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
  });

  it("sends the bid again with its bid id after reconnecting, and the bid is applied once", async () => {
    const sam = await signIn(browser, bundle, server.url, "sam"); // straight to the server
    const ann = await signIn(browser, bundle, proxy.url, "ann"); // through the proxy that drops
    await openLot(sam, "Teapot", 5, 120);
    await watch(sam, "Teapot");
    await watch(ann, "Teapot");

    // The bid reaches the server, its answer is lost, then ann's connection is reset.
    const hole = proxy.blackHole({ only: "fromServer" });
    await ann.fill("#amount", "7");
    await ann.click("#bid-form button");
    await historyHas(sam, 1); // applied: sam sees it
    hole.resetClients();

    await synced(ann, 2); // reconnected and synchronised, the bid sent again meanwhile
    expect(await answer(ann)).toBe("result accepted: Your bid of 7 leads (it had arrived before the connection dropped).");
    expect(await history(ann)).toEqual(["#1ann7"]);
    expect(await history(sam)).toEqual(["#1ann7"]);

    // A new bid after that is a new bid.
    expect(await bid(sam, 8)).toBe("result refused: You cannot bid on your own lot.");
    expect(await bid(ann, 9)).toBe("result refused: You are leading already.");
    expect(await history(sam)).toEqual(["#1ann7"]);
  }, 60_000);

  it("asks to sign in again when the server refuses the token it saved", async () => {
    const context = await browser.newContext();
    try {
      await context.route("**/dist/samples/auction/web/app.js", (route) => route.fulfill({ contentType: "text/javascript", body: Buffer.from(bundle) }));
      await context.addInitScript(() => {
        if (sessionStorage.getItem("seeded")) return;
        sessionStorage.setItem("seeded", "1");
        localStorage.setItem("hubwire-auction", JSON.stringify({ token: "eyJuYW1lIjoibWFsbG9yeSJ9.forged", user: { name: "mallory" } }));
      });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForSelector("#sign-in-form", { state: "visible" });
      expect(await page.evaluate(() => localStorage.getItem("hubwire-auction"))).toBeNull();
      expect(await page.textContent("#status")).toBe("offline");
    } finally {
      await context.close();
    }
  });
});
