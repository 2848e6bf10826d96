import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNotificationServer, type NotificationServer } from "../../samples/notifications/app.js";
import { silentLogger } from "../../src/index.js";
import { launchChromium } from "../browser/chromium.js";
import { bundlePage } from "../support/page-bundle.js";

// The page's script bundled in memory (no dist/ build) and served in place of the compiled one.
describe("the notification sample's page, when connecting goes wrong", () => {
  let browser: Browser;
  let server: NotificationServer;
  let bundle: Uint8Array;

  beforeAll(async () => {
    bundle = await bundlePage("notifications");
    server = await startNotificationServer({ port: 0, logger: silentLogger });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    await context.route("**/dist/samples/notifications/web/app.js", (route) => route.fulfill({ contentType: "text/javascript", body: Buffer.from(bundle) }));
    return { context, page: await context.newPage() };
  }

  const status = (page: Page) => page.textContent("#status");

  it("shows 'signed out' and the sign-in form for a token the server refuses, and signs in again", async () => {
    const { context, page } = await openPage();
    try {
      // A session from before: its token is no longer accepted (forged, or signed with an old secret).
      await context.addInitScript(() => {
        if (sessionStorage.getItem("seeded")) return;
        sessionStorage.setItem("seeded", "1");
        localStorage.setItem("hubwire-notifications", JSON.stringify({ token: "bWFsbG9yeQ.forged", user: { name: "mallory", admin: false } }));
      });
      await page.goto(server.url);
      await page.waitForSelector("#signed-out:not([hidden])", { timeout: 10_000 });
      expect(await status(page)).toBe("signed out");
      expect(await page.isVisible("#sign-in-form")).toBe(true);
      expect(await page.evaluate(() => localStorage.getItem("hubwire-notifications"))).toBeNull();

      await page.fill("input[name=name]", "mallory");
      await page.click("#sign-in-form button");
      await page.waitForFunction(() => document.querySelector("#status")?.textContent === "connected", undefined, { timeout: 10_000 });
      expect(await page.isVisible("#signed-out")).toBe(false);
    } finally {
      await context.close();
    }
  });

  it("signs a user out on every tab, and no one else", async () => {
    const { context, page: first } = await openPage();
    const other = await openPage();
    try {
      const signIn = async (page: Page, name: string) => {
        await page.goto(server.url);
        await page.fill("input[name=name]", name);
        await page.click("#sign-in-form button");
        await page.waitForFunction(() => document.querySelector("#status")?.textContent === "connected", undefined, { timeout: 10_000 });
      };
      await signIn(first, "erin");
      const second = await context.newPage(); // a second tab: the session is in the context's localStorage
      await second.goto(server.url);
      await second.waitForFunction(() => document.querySelector("#status")?.textContent === "connected", undefined, { timeout: 10_000 });
      await signIn(other.page, "frank");

      await first.click("#sign-out");
      await second.waitForSelector("#signed-out:not([hidden])", { timeout: 10_000 });
      expect(await status(second)).toBe("signed out");
      await first.waitForSelector("#sign-in-form", { state: "visible", timeout: 10_000 });
      expect(await status(other.page)).toBe("connected");
      expect(await other.page.isVisible("#signed-out")).toBe(false);
    } finally {
      await context.close();
      await other.context.close();
    }
  });

  it("shows on every tab of a user how many tabs are open, as tabs open and close", async () => {
    const { context, page: first } = await openPage();
    try {
      const tabs = (page: Page, text: string) => page.waitForFunction((expected) => document.querySelector("#tabs")?.textContent === expected, text, { timeout: 10_000 });
      await first.goto(server.url);
      await first.fill("input[name=name]", "gina");
      await first.click("#sign-in-form button");
      await tabs(first, "on this tab");
      const second = await context.newPage(); // the session is in the context's localStorage
      await second.goto(server.url);
      await tabs(second, "on 2 tabs");
      await tabs(first, "on 2 tabs");
      await second.close();
      await tabs(first, "on this tab");
    } finally {
      await context.close();
    }
  });

  it("shows each failed attempt of the first connect, then connects", async () => {
    const { context, page } = await openPage();
    try {
      await context.addInitScript(() => {
        if (sessionStorage.getItem("seeded")) return;
        sessionStorage.setItem("seeded", "1");
        localStorage.removeItem("hubwire-notifications");
      });
      await page.goto(server.url);
      await page.fill("input[name=name]", "carol");
      // The server is unreachable for now: every negotiate fails.
      const unreachable = "**/hubs/notifications/negotiate*";
      await context.route(unreachable, (route) => route.abort("connectionrefused"));
      await page.click("#sign-in-form button");
      await page.waitForFunction(
        () => document.querySelector("#status")?.textContent === "connecting" && /^attempt 2 failed, retrying in \d s$/.test(document.querySelector("#status-detail")?.textContent ?? ""),
        undefined,
        { timeout: 10_000 },
      );
      await context.unroute(unreachable);
      await page.waitForFunction(() => document.querySelector("#status")?.textContent === "connected", undefined, { timeout: 10_000 });
      expect(await page.textContent("#status-detail")).toBe("");
    } finally {
      await context.close();
    }
  });
});
