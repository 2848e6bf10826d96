import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestHub } from "../../samples/interop-server/test-hub.js";
import { launchChromium } from "./chromium.js";
import { browserBundle } from "../support/page-bundle.js";
import { startTcpProxy, upgradeId, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";
import { servePage } from "./page-server.js";

// The page: one stateful connection, on its own or as a hub of a multiplexer, that the test
// cuts and lets the server forget; `reconnected` then tells what the client did.
const page = `<!doctype html><meta charset="utf-8"><title>hubwire's client resuming a connection its server let go</title>
<script type="module">
  import { HubConnection } from "/hubwire-client.min.js";
  import { HubMultiplexer } from "/hubwire-client-multiplex.min.js";
  window.run = async ({ multiplexed }) => {
    const options = { statefulReconnect: true, transports: ["WebSockets"] };
    const connection = multiplexed ? new HubMultiplexer("/hubs", options).hub("/stateful") : new HubConnection("/stateful", options);
    window.reconnected = new Promise((resolve) => connection.onReconnected(resolve)).then(async () => ({
      connectionId: connection.connectionId,
      echo: await connection.invoke("Echo", "anew"),
    }));
    await connection.start();
    return connection.connectionId;
  };
  window.ready = true;
</script>`;

describe("hubwire's client in a real browser, resuming a connection its server let go", () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof servePage>> | undefined;
  let proxy: TcpProxy | undefined;
  let tab: Page | undefined;

  beforeAll(async () => {
    const scripts = {
      "/hubwire-client.min.js": await browserBundle("index.ts"),
      "/hubwire-client-multiplex.min.js": await browserBundle("browser-multiplex.ts"),
    };
    // A suspended connection is let go once no socket came back within the disconnect timeout.
    server = await servePage(page, scripts, (hubs) => {
      hubs.mapHub("/stateful", TestHub, { allowStatefulReconnects: true, disconnectTimeout: 200 });
      hubs.mapMultiplexer("/hubs", { disconnectTimeout: 200 });
    });
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await tab?.close();
    await proxy?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each([
    ["a hub connection", false],
    ["a multiplexer's shared connection", true],
  ])("hears the refusal in band (%s): one attempt, then a new connection at once", async (_name, multiplexed) => {
    proxy = await startTcpProxy(Number(new URL(server!.url).port));
    tab = await browser.newPage();
    await tab.goto(`${proxy.url}/`);
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const first = await tab.evaluate((options) => (window as unknown as { run(o: unknown): Promise<string> }).run(options), { multiplexed });
    const [connect] = proxy.upgrades;

    // The client's attempts to reattach fail without an answer until the server has let go.
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => server!.hubs.connectionCount === 0, "the server to let the connection go");
    const upgradesBefore = proxy.upgrades.length;
    proxy.refuse(false);

    const result = await tab.evaluate(() => (window as unknown as { reconnected: Promise<unknown> }).reconnected);
    expect(result).toEqual({ connectionId: expect.any(String), echo: "anew" });
    expect((result as { connectionId: string }).connectionId).not.toBe(first);
    // One attempt reached the server, which refused it in band (a browser cannot read a 404);
    // the client did not make the rest of its reattach schedule (1, 2 and 5 s) first.
    const reattaches = proxy.upgrades.slice(upgradesBefore).filter((target) => upgradeId(target) === upgradeId(connect!));
    expect(reattaches).toHaveLength(1);
  });
});
