import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger, type HubServer } from "../../src/index.js";
import { launchChromium } from "../browser/chromium.js";
import { clientOf, dashboardServer } from "./dashboard-fixture.js";

// The README shows docs/dashboard.png; set HUBWIRE_SCREENSHOT=1 to refresh it from this run.
const screenshot = process.env.HUBWIRE_SCREENSHOT
  ? fileURLToPath(new URL("../../docs/dashboard.png", import.meta.url))
  : join(tmpdir(), "hubwire-dashboard.png");

/** Waits until the page's element `selector` shows `text`. */
async function shows(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).getByText(text, { exact: false }).first().waitFor({ timeout: 15_000 });
}

describe("the dashboard in Chromium", () => {
  let browser: Browser;
  let server: HubServer;
  let url: string;

  beforeAll(async () => {
    server = dashboardServer({ logger: silentLogger });
    ({ url } = await server.listen());
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows a second client connect, join a group and call a method, and finds it by its user", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${url}/hubwire#access_token=ops`);
    await shows(page, "#status", "live");
    await shows(page, "#servers", "100000"); // maximumConnections, by default
    await shows(page, "#hubs", "per user"); // each hub's maximumConnectionsPerUser column
    await shows(page, "#hubs", "held back"); // and its maximumInvocationsPerSecondPerClient's
    // The token left the address once the page kept it.
    expect(page.url()).toBe(`${url}/hubwire`);

    const ada = clientOf(url, "/rooms", "ada");
    ada.on("Said", () => {});
    await ada.start();
    const id = ada.connectionId!;
    await shows(page, "#connections", id.slice(0, 8));
    await shows(page, "#connections", "ada");
    await ada.invoke("Join", "lobby");
    await shows(page, "#groups", "lobby");
    await ada.invoke("Say", "lobby", "hello");
    await shows(page, "#calls", "Say");
    await shows(page, "#methods", "Say");

    const grace = clientOf(url, "/rooms", "grace");
    await grace.start();
    await grace.invoke("Join", "lobby");
    await grace.invoke("Join", "kitchen");
    await expect.poll(() => page.locator("#groups").innerText(), { timeout: 15_000 }).toMatch(/lobby\s+2/);
    await expect.poll(() => page.locator("#hubs").innerText(), { timeout: 15_000 }).toMatch(/RoomHub\s+\/rooms\s+2\s+2\s+none\s+0\s+none\s+0\s+2/);

    await page.fill("#search input", "ada");
    await page.click("#search button");
    await shows(page, "#found", id);
    const found = await page.locator("#found").innerText();
    expect(found).toContain("lobby");
    expect(found).toContain("Say");
    await page.screenshot({ path: screenshot, fullPage: true });

    await grace.stop();
    await ada.stop();
    await shows(page, "#connections", "disconnected");
    await page.close();
  });

  it("shows a viewer without the policy nothing", async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/hubwire#access_token=ada`);
    await shows(page, "#status", "refused");
    expect(await page.locator("#servers").innerText()).toBe("");
    await page.close();
  });
});
