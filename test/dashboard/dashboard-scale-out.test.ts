import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger, type HubServer } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { launchChromium } from "../browser/chromium.js";
import { redisUrl } from "../support/redis.js";
import { clientOf, dashboardServer } from "./dashboard-fixture.js";

describe("the dashboard of two servers on Redis", () => {
  let browser: Browser;
  const servers: HubServer[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    // A channel prefix of this run's own: nothing else on the shared Redis hears these servers.
    const channelPrefix = `dashboard-test-${randomUUID()}`;
    for (let i = 0; i < 2; i++) {
      const server = dashboardServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) });
      servers.push(server);
      urls.push((await server.listen()).url);
    }
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it("lists both servers, their backplane, and finds a connection held by the other", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${urls[0]}/hubwire#access_token=ops`);
    await page.locator("#status").getByText("live").waitFor({ timeout: 15_000 });

    const grace = clientOf(urls[1]!, "/rooms", "grace");
    await grace.start();
    await grace.invoke("Join", "kitchen");

    // Two server rows (the header row aside), each with its own id: polled as one condition, as
    // the table is drawn again with each update and a row may be read between two of them.
    const serverIds = async () => (await page.locator("#servers tr").allInnerTexts()).slice(1).map((row) => row.split("\t")[1]);
    await expect.poll(async () => new Set(await serverIds()).size, { timeout: 15_000 }).toBe(2);
    expect(await serverIds()).toHaveLength(2);
    // Each server hears the other on the backplane: a peer each, the link up.
    await expect.poll(() => page.locator("#backplane").innerText(), { timeout: 15_000 }).toMatch(/RoomHub\s+up\s+1[\s\S]*RoomHub\s+up\s+1/);
    // The other server's group and its connect.
    await page.locator("#groups").getByText("kitchen").waitFor({ timeout: 15_000 });
    await page.locator("#connections").getByText("grace").waitFor({ timeout: 15_000 });

    await page.fill("#search input", "grace");
    await page.click("#search button");
    await page.locator("#found").getByText(grace.connectionId!).waitFor({ timeout: 15_000 });
    expect(await page.locator("#found").innerText()).toContain("kitchen");

    await grace.stop();
    await page.close();
  });
});
