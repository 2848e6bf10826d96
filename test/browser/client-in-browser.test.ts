import { build } from "esbuild";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { launchChromium } from "./chromium.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InteropHub } from "../../samples/interop-server/interop-hub.js";
import { TestHub } from "../../samples/interop-server/test-hub.js";
import { HubServer, silentLogger } from "../../src/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

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
  window.ready = true;
</script>`;

describe("hubwire/client in a real browser", () => {
  let browser: Browser;
  let http: Server;
  let hubs: HubServer;
  let url: string;

  beforeAll(async () => {
    // The same bundle as `npm run build:browser`, built in memory so no other test's files are touched.
    const { outputFiles } = await build({
      entryPoints: [`${root}/client/index.ts`],
      bundle: true,
      format: "esm",
      minify: true,
      platform: "browser",
      target: "es2020",
      write: false,
      logLevel: "error",
    });
    const bundle = outputFiles[0]!.contents;
    hubs = new HubServer({ logger: silentLogger });
    hubs.mapHub("/testhub", TestHub);
    hubs.mapHub("/interophub", InteropHub);
    http = createServer((req, res) => {
      if (req.url === "/") return void res.writeHead(200, { "Content-Type": "text/html" }).end(page);
      if (req.url === "/hubwire-client.min.js") return void res.writeHead(200, { "Content-Type": "text/javascript" }).end(bundle);
      res.writeHead(404).end();
    });
    hubs.attach(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hubs?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
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
});
