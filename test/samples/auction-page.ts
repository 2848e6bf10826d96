import type { Browser, Page } from "playwright-core";
import { bundlePage } from "../support/page-bundle.js";

// What the auction's browser tests do with its page, as a person would: sign in, bid from the form.

/** The auction page's script bundled in memory (no dist/ build), served in place of the compiled one. */
export function bundleAuctionPage(): Promise<Uint8Array> {
  return bundlePage("auction");
}

/** A new browser context on `url`, signed in as `name` and synchronised once. */
export async function signIn(browser: Browser, bundle: Uint8Array, url: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  await context.route("**/dist/samples/auction/web/app.js", (route) => route.fulfill({ contentType: "text/javascript", body: Buffer.from(bundle) }));
  const page = await context.newPage();
  await page.goto(url);
  await page.fill("input[name=name]", name);
  await page.click("#sign-in-form button");
  await synced(page, 1);
  return page;
}

/** Waits until the page has (re)synchronised `count` times since it loaded. */
export const synced = (page: Page, count: number) =>
  page.waitForFunction((n) => Number(document.body.dataset.syncs ?? 0) >= n, count, { timeout: 20_000 });

/** Bids from the page's form; resolves with the answer it shows: "result accepted: …" or "result refused: …". */
export async function bid(page: Page, amount: number, confirm?: boolean): Promise<string> {
  await page.evaluate(() => (document.querySelector("#bid-result")!.className = "result"));
  await page.fill("#amount", String(amount));
  await page.click("#bid-form button");
  if (confirm !== undefined) {
    await page.waitForSelector("#confirm[open]");
    await page.click(confirm ? "#confirm-yes" : "#confirm-no");
  }
  return answer(page);
}

/** The answer the page shows once it has one. */
export async function answer(page: Page): Promise<string> {
  await page.waitForSelector("#bid-result.accepted, #bid-result.refused", { timeout: 20_000 });
  return `${await page.getAttribute("#bid-result", "class")}: ${await page.textContent("#bid-result")}`;
}

export const history = (page: Page) => page.$$eval("#history li", (items) => items.map((item) => item.textContent));

/** Waits until the page lists `count` bids. */
export const historyHas = (page: Page, count: number) =>
  page.waitForFunction((n) => Number(document.querySelector("#history")?.getAttribute("data-count")) === n, count, { timeout: 10_000 });

/** Opens a lot from the seller's form. */
export async function openLot(page: Page, title: string, startingPrice: number, seconds: number): Promise<void> {
  await page.fill("#sell-form input[name=title]", title);
  await page.fill("#sell-form input[name=startingPrice]", String(startingPrice));
  await page.fill("#sell-form input[name=durationSeconds]", String(seconds));
  await page.click("#sell-form button");
}

/** Watches a lot from the list, once the list shows it. */
export async function watch(page: Page, title: string): Promise<void> {
  await page.click(`#lots li:has-text('${title}')`);
  await page.waitForSelector("#countdown[data-remaining-ms]");
}
