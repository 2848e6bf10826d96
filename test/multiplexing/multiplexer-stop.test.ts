import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { silentLogger, type HubClientError, type Logger } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";

// stop() while the shared connection waits to try again: nothing connects after it.

let mux: MuxServer | undefined;
let proxy: TcpProxy | undefined;
let hubs: HubMultiplexer;

afterEach(async () => {
  await hubs.stop();
  await proxy?.close();
  await mux?.server.close();
  proxy = mux = undefined;
});

/** A logger that tells `heard` of each info line. */
function listeningLogger(heard: (message: string) => void): Logger {
  return { ...silentLogger, info: (message: string) => heard(message) };
}

it("makes no further attempt when stopped while the shared connection waits between attempts", async () => {
  // A server that is there but not well: every negotiate gets 503.
  let negotiates = 0;
  const unwell = createServer((_request, response) => (negotiates++, response.writeHead(503).end()));
  await new Promise<void>((resolve) => unwell.listen(0, "127.0.0.1", resolve));
  const { port } = unwell.address() as AddressInfo;
  let waiting = false;
  const logger = listeningLogger((message) => (waiting ||= message.startsWith("Connecting the shared connection failed")));
  hubs = new HubMultiplexer(`http://127.0.0.1:${port}/hubs`, { transports: ["WebSockets"], logger, reconnect: { nextDelay: () => 60_000 } });
  try {
    const started = hubs.hub("/news").start().then(
      () => undefined,
      (error: unknown) => error as HubClientError,
    );
    await waitFor(() => waiting, "the first attempt to fail");
    await within(hubs.stop(), "stop() to return");
    expect((await started)?.code).toBe("ERR_CANCELED");
    expect(negotiates).toBe(1);
  } finally {
    unwell.closeAllConnections();
    unwell.close();
  }
});

it("lets no socket come back when stopped while a stateful connection waits to reattach its socket", async () => {
  // The server waits 2 s for the client's next socket; the client's second try would come 1 s after the first.
  const server = (mux = await startMuxServer({ disconnectTimeout: 2_000 }, { allowStatefulReconnects: true }));
  const tcp = (proxy = await startTcpProxy(Number(new URL(server.url).port)));
  lifecycle.length = 0;
  hubs = new HubMultiplexer(`${tcp.url}/hubs`, { transports: ["WebSockets"], logger: silentLogger, accessTokenFactory: () => "rosa", statefulReconnect: true });
  const news = hubs.hub("/news");
  await news.start();
  const upgrades = tcp.upgrades.length;

  tcp.refuse(true);
  tcp.cut();
  await waitFor(() => tcp.refused === 1, "the first reattach to be refused");
  await within(hubs.stop(), "stop() to return");
  tcp.refuse(false);

  // Its server lets the connection go once no socket came back in time: none did.
  await waitFor(() => lifecycle.includes("news disconnected rosa"), "the server to let the connection go");
  expect(tcp.upgrades.length).toBe(upgrades);
  expect(hubs.isConnected).toBe(false);
  expect(news.state).toBe("Disconnected");
});
