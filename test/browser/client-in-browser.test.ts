import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminPolicy, authenticateTestToken, GuardedHub } from "../abuse/guarded-hub.js";
import { launchChromium } from "./chromium.js";
import { browserBundle } from "../support/page-bundle.js";
import { servePage } from "./page-server.js";

// The page: the browser bundle, and one function the test calls with options for the run.
const page = `<!doctype html><meta charset="utf-8"><title>hubwire in a browser</title>
<script type="module">
  import { HubConnection } from "/hubwire-client.min.js";
  window.run = async ({ disable }) => {
    for (const name of disable) window[name] = undefined;
    const chat = new HubConnection("/interophub", { reconnect: false });
    const test = new HubConnection("/testhub", { reconnect: false });
    const broadcast = new Promise((resolve) => chat.on("Received", (route, message) => resolve(route + ":" + message)));
    await chat.start();
    await test.start();
    const result = {
      transport: await test.invoke("GetActiveTransportName"),
      echo: await test.invoke("Echo", "from the browser"),
      stream: [],
    };
    await chat.invoke("SendToAll", "hello everyone");
    result.broadcast = await broadcast;
    for await (const item of test.stream("Stream")) result.stream.push(item);
    await chat.stop();
    await test.stop();
    // A transport the browser lacks is passed over without a negotiate of its own.
    result.negotiated = performance.getEntriesByType("resource").map((entry) => new URL(entry.name).pathname).filter((path) => path.endsWith("/negotiate")).sort();
    return result;
  };
  // Authentication refresh: test tokens "<user>.<role>.<expires at, ms>" of 6 s, refreshed halfway.
  window.refresh = async () => {
    let firstExpiresAt;
    const accessTokenFactory = () => {
      const expiresAt = Date.now() + 6000;
      firstExpiresAt ??= expiresAt;
      return "root.admin." + expiresAt;
    };
    const guarded = new HubConnection("/guarded", { reconnect: false, accessTokenFactory, authenticationRefresh: { refreshBeforeExpiryMs: 3000 } });
    const lifetimes = [];
    guarded.onAuthenticationRefreshed((seconds) => lifetimes.push(seconds));
    await guarded.start();
    await new Promise((resolve) => setTimeout(resolve, firstExpiresAt + 500 - Date.now()));
    // Failures as text: an error thrown out of the page carries a stack of page URLs.
    const user = await guarded.invoke("Whoami").catch((error) => String(error));
    const result = { state: guarded.state, user, refreshed: lifetimes.length > 0 };
    await guarded.stop();
    return result;
  };
  window.ready = true;
</script>`;

describe("hubwire/client in a real browser", () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof servePage>> | undefined;
  let url: string;

  beforeAll(async () => {
    server = await servePage(page, { "/hubwire-client.min.js": await browserBundle("index.ts") }, (hubs) =>
      hubs.mapHub("/guarded", GuardedHub, { authenticate: authenticateTestToken, authenticationRefresh: true }), { policies: adminPolicy },
    );
    url = server.url;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each([
    ["WebSockets", [] as string[]],
    ["ServerSentEvents", ["WebSocket"]],
    ["LongPolling", ["WebSocket", "EventSource"]],
  ])("invokes, receives a broadcast and streams over %s", async (transport, disable) => {
    const tab = await browser.newPage();
    try {
      await tab.goto(url);
      await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const result = await tab.evaluate((options) => (window as unknown as { run(o: unknown): Promise<unknown> }).run(options), { disable });
      expect(result).toEqual({
        transport,
        echo: "from the browser",
        broadcast: "all:hello everyone",
        stream: ["a", "b", "c"],
        negotiated: ["/interophub/negotiate", "/testhub/negotiate"],
      });
    } finally {
      await tab.close();
    }
  });

  it("keeps its connection past the first token's end by refreshing its authentication", async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(url);
      await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const result = await tab.evaluate(() => (window as unknown as { refresh(): Promise<unknown> }).refresh());
      expect(result).toEqual({ state: "Connected", user: "root", refreshed: true });
    } finally {
      await tab.close();
    }
  }, 30_000);
});
