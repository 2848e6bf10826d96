import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";
import { browserBundle } from "../support/page-bundle.js";
import { servePage } from "./page-server.js";

// The page: the multiplexer's bundle and the MessagePack add-on, two hubs over one connection
// (a JSON one and a MessagePack one where the transport carries binary: not Server-Sent Events),
// and one function the test calls with options for the run.
const page = `<!doctype html><meta charset="utf-8"><title>hubwire's multiplexer in a browser</title>
<script type="module">
  import { HubConnection, HubMultiplexer, json } from "/hubwire-client-multiplex.min.js";
  import { messagePack } from "/hubwire-client-msgpack.min.js";
  window.run = async ({ disable, binary }) => {
    for (const name of disable) window[name] = undefined;
    const hubs = new HubMultiplexer("/hubs", { reconnect: false, protocol: binary ? messagePack : json });
    const chat = hubs.hub("/interophub", { protocol: json });
    const test = hubs.hub("/testhub");
    const broadcast = new Promise((resolve) => chat.on("Received", (route, message) => resolve(route + ":" + message)));
    await Promise.all([chat.start(), test.start()]);
    const result = {
      hubsAreHubConnections: chat instanceof HubConnection && test instanceof HubConnection,
      transport: await test.invoke("GetActiveTransportName"),
      echo: await test.invoke("Echo", "from the browser"),
      // MessagePack carries bytes as bytes, JSON as base64 text: this tells the hub's protocol.
      bytesAreBytes: (await test.invoke("SendComplexObject")).ByteArray instanceof Uint8Array,
      stream: [],
    };
    await chat.invoke("SendToAll", "hello everyone");
    result.broadcast = await broadcast;
    for await (const item of test.stream("Stream")) result.stream.push(item);
    await hubs.stop();
    // What went over the network for the page: one negotiate, the multiplexer's.
    result.negotiated = performance.getEntriesByType("resource").map((entry) => new URL(entry.name).pathname).filter((path) => path.endsWith("/negotiate"));
    return result;
  };
  window.ready = true;
</script>`;

describe("hubwire/client/browser/multiplex in a real browser", () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof servePage>> | undefined;
  let url: string;

  beforeAll(async () => {
    const scripts = {
      "/hubwire-client-multiplex.min.js": await browserBundle("browser-multiplex.ts"),
      "/hubwire-client-msgpack.min.js": await browserBundle("msgpack.ts"),
    };
    server = await servePage(page, scripts, (hubs) => hubs.mapMultiplexer("/hubs"));
    url = server.url;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each([
    ["WebSockets", [] as string[], true],
    ["ServerSentEvents", ["WebSocket"], false],
    ["LongPolling", ["WebSocket", "EventSource"], true],
  ])("carries two hubs over one %s connection", async (transport, disable, binary) => {
    const tab = await browser.newPage();
    try {
      await tab.goto(url);
      await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const result = await tab.evaluate((options) => (window as unknown as { run(o: unknown): Promise<unknown> }).run(options), { disable, binary });
      expect(result).toEqual({
        hubsAreHubConnections: true,
        transport,
        bytesAreBytes: binary,
        echo: "from the browser",
        broadcast: "all:hello everyone",
        stream: ["a", "b", "c"],
        negotiated: ["/hubs/negotiate"],
      });
    } finally {
      await tab.close();
    }
  });
});
