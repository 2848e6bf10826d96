import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import type { HubOptions, HubServerOptions, MultiplexerOptions } from "../../src/index.js";
import { heldAuthentication } from "../support/held-authentication.js";
import { startTcpProxy, upgradeId, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor, within } from "../support/wait.js";
import { startMeter, valueOf } from "../telemetry/otel-sdk.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";

describe.each([
  { name: "JSON", binary: false },
  { name: "MessagePack", binary: true },
])("stateful reconnect of a multiplexed connection, $name", ({ binary }) => {
  let mux: MuxServer;
  let proxy: TcpProxy;
  let hubs: HubMultiplexer;
  let other: HubMultiplexer;

  /** Rosa's connection goes through a proxy that can drop it; Sam's does not. */
  async function start(hubOptions: HubOptions = {}, serverOptions: HubServerOptions = {}, multiplexerOptions: MultiplexerOptions = {}): Promise<void> {
    lifecycle.length = 0;
    mux = await startMuxServer(multiplexerOptions, { allowStatefulReconnects: true, ...hubOptions }, serverOptions);
    proxy = await startTcpProxy(Number(new URL(mux.url).port));
    // Pings often enough for a short client timeout.
    const options = { transports: ["WebSockets" as const], logger: silentLogger, keepAliveIntervalMs: 100, ...(binary ? { protocol: messagePack } : {}) };
    hubs = new HubMultiplexer(`${proxy.url}/hubs`, { ...options, accessTokenFactory: () => "rosa", statefulReconnect: true });
    other = new HubMultiplexer(`${mux.url}/hubs`, { ...options, accessTokenFactory: () => "sam" });
  }

  afterEach(async () => {
    await hubs.stop();
    await other.stop();
    await proxy.close();
    await mux.server.close();
  });

  it("resumes every stateful hub on the new socket, with what was sent meanwhile; a hub without it starts anew", async () => {
    await start();
    const news = hubs.hub("/news");
    const presence = hubs.hub("/presence");
    const game = hubs.hub("/game", { statefulReconnect: false });
    const sender = other.hub("/news");
    await Promise.all([news.start(), presence.start(), game.start(), sender.start()]);
    const ids = [news.connectionId, presence.connectionId, game.connectionId];
    const heard: string[] = [];
    news.on("said", (_hub: string, text: string) => void heard.push(text));
    const gameBack = new Promise((resolve) => game.onReconnected(resolve));
    const statefulReconnected = new Promise((resolve) => news.onReconnected(resolve));

    const holed = proxy.halfOpen(); // the client sees its socket gone; the server's side hears nothing
    holed.resetClients();
    await sender.invoke("TellUser", "rosa", "sent while the socket was down");
    // Stateful: no reconnect at all, the same connection goes on.
    expect(await within(news.invoke("Echo", "after"), "a call on the resumed hub")).toBe("after");
    expect(await presence.invoke("Echo", "after")).toBe("after");
    await waitFor(() => heard.length === 1, "the message sent during the drop");
    expect(heard).toEqual(["sent while the socket was down"]);
    expect([news.connectionId, presence.connectionId]).toEqual(ids.slice(0, 2));
    expect(lifecycle.filter((e) => e.startsWith("news")).sort()).toEqual(["news connected rosa", "news connected sam"]); // no second onConnected
    // The hub that did not ask for it reconnected as a new connection.
    await within(gameBack, "the game hub to reconnect");
    expect(game.connectionId).not.toBe(ids[2]);
    expect(await game.invoke("Echo", "again")).toBe("again");
    let reconnectedEvent = false;
    void statefulReconnected.then(() => (reconnectedEvent = true));
    await Promise.resolve();
    expect(reconnectedEvent).toBe(false);
    expect(mux.server.connectionCount).toBe(2);
  });

  it("ends a hub at once when what its client misses outgrows its buffer, and a hub without stateful reconnect when the socket drops; the others resume", async () => {
    const meter = startMeter();
    await start({ statefulReconnectBufferSize: 2_000 }, { telemetry: { meterProvider: meter.meterProvider } });
    const news = hubs.hub("/news");
    const presence = hubs.hub("/presence");
    const game = hubs.hub("/game", { statefulReconnect: false });
    const sender = other.hub("/news");
    await Promise.all([news.start(), presence.start(), game.start(), sender.start()]);
    const [newsId, presenceId] = [news.connectionId, presence.connectionId];
    const newsBack = new Promise((resolve) => news.onReconnected(resolve));

    proxy.refuse(true); // no socket comes back until the test allows it
    proxy.cut();
    // As a plain connection that cannot resume: it ends when its socket drops, not when its client is back.
    await waitFor(() => lifecycle.includes("game disconnected rosa"), "the hub without stateful reconnect to end");
    expect(lifecycle).not.toContain("news disconnected rosa");
    await sender.invoke("TellUser", "rosa", "x".repeat(5_000));
    // Long before the disconnect timeout: resuming it would leave a gap.
    await waitFor(() => lifecycle.includes("news disconnected rosa"), "the hub that missed too much to end");
    expect(lifecycle).not.toContain("presence disconnected rosa");
    const metrics = await meter.metrics();
    expect(valueOf(metrics.get("hubwire.server.connections.dropped"), { "hubwire.drop.reason": "stateful_buffer_full", "signalr.transport": "web_sockets" })).toBe(1);
    // Rosa's presence hub waits for her; her news hub ended, and Sam's never left.
    const waiting = metrics.get("hubwire.server.suspended_connections");
    expect([valueOf(waiting, { "hubwire.hub": "PresenceHub" }), valueOf(waiting, { "hubwire.hub": "NewsHub" })]).toEqual([1, 0]);

    proxy.refuse(false);
    await within(newsBack, "the hub that ended to open anew");
    expect(news.connectionId).not.toBe(newsId);
    expect(await presence.invoke("Echo", "after")).toBe("after");
    expect(presence.connectionId).toBe(presenceId);
    expect(lifecycle.filter((event) => event.startsWith("presence"))).toEqual(["presence connected rosa"]);
    expect(valueOf((await meter.metrics()).get("hubwire.server.suspended_connections"), { "hubwire.hub": "PresenceHub" })).toBe(0);
  });

  it("waits for a client silent past the client timeout (its socket half-open), and resumes every stateful hub when it comes back", async () => {
    await start({}, {}, { keepAliveInterval: 100, clientTimeoutInterval: 600 });
    const news = hubs.hub("/news");
    const presence = hubs.hub("/presence");
    const game = hubs.hub("/game", { statefulReconnect: false });
    const sender = other.hub("/news");
    await Promise.all([news.start(), presence.start(), game.start(), sender.start()]);
    const ids = [news.connectionId, presence.connectionId];
    const heard: string[] = [];
    news.on("said", (_hub: string, text: string) => void heard.push(text));

    const hole = proxy.blackHole(); // nothing gets through either way, and neither side is told
    await within(hole.webSocketsClosedByServer, "the server to drop the silent socket");
    expect(lifecycle).toContain("game disconnected rosa");
    expect(lifecycle).not.toContain("news disconnected rosa");
    await sender.invoke("TellUser", "rosa", "sent while the client was silent");
    hole.resetClients(); // the client's network gives up on the socket: it comes back

    expect(await within(news.invoke("Echo", "after"), "a call on the resumed hub")).toBe("after");
    await waitFor(() => heard.length === 1, "the message sent while the client was silent");
    expect(heard).toEqual(["sent while the client was silent"]);
    expect([news.connectionId, presence.connectionId]).toEqual(ids);
    expect(await presence.invoke("Echo", "after")).toBe("after");
    expect(lifecycle.filter((event) => !event.startsWith("game")).sort()).toEqual(["news connected rosa", "news connected sam", "presence connected rosa"]);
  });
});

/**
 * A server and Rosa's stateful multiplexer, whose socket goes through a proxy that can drop it;
 * all three closed after each test.
 */
function rosaBehindProxy(): (multiplexerOptions: MultiplexerOptions, hubOptions: HubOptions, serverOptions?: HubServerOptions) => Promise<{ mux: MuxServer; proxy: TcpProxy; hubs: HubMultiplexer }> {
  let running: { mux: MuxServer; proxy: TcpProxy; hubs: HubMultiplexer } | undefined;
  afterEach(async () => {
    await running?.hubs.stop();
    await running?.proxy.close();
    await running?.mux.server.close();
    running = undefined;
  });
  return async (multiplexerOptions, hubOptions, serverOptions = {}) => {
    lifecycle.length = 0;
    const mux = await startMuxServer(multiplexerOptions, { allowStatefulReconnects: true, ...hubOptions }, serverOptions);
    const proxy = await startTcpProxy(Number(new URL(mux.url).port));
    const hubs = new HubMultiplexer(`${proxy.url}/hubs`, { transports: ["WebSockets"], logger: silentLogger, accessTokenFactory: () => "rosa", statefulReconnect: true });
    running = { mux, proxy, hubs };
    return running;
  };
}

describe("a multiplexed connection that its server let go while its client was away", () => {
  const start = rosaBehindProxy();

  it("is known from the refused reattach: its hubs start anew at once", async () => {
    // A suspended connection is let go once no socket came back within the disconnect timeout.
    const { proxy, hubs } = await start({ disconnectTimeout: 200 }, {});
    const news = hubs.hub("/news");
    const presence = hubs.hub("/presence");
    await Promise.all([news.start(), presence.start()]);
    const ids = [news.connectionId, presence.connectionId];
    const [oldUpgrade] = proxy.upgrades;
    const reconnected = Promise.all([news, presence].map((hub) => new Promise((resolve) => hub.onReconnected(resolve))));

    // The client's attempts to reattach fail without an answer until the server has let go.
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => lifecycle.includes("news disconnected rosa") && lifecycle.includes("presence disconnected rosa"), "the server to let go");
    const upgradesBefore = proxy.upgrades.length;
    proxy.refuse(false);

    await within(reconnected, "both hubs to reconnect");
    expect(news.connectionId).not.toBe(ids[0]);
    expect(presence.connectionId).not.toBe(ids[1]);
    expect(await news.invoke("Echo", "anew")).toBe("anew");
    // One attempt reached the server and was refused (404, in band); the client did not wait out the
    // rest of its reattach schedule (1, 2 and 5 s) before opening a new connection.
    const reattaches = proxy.upgrades.slice(upgradesBefore).filter((target) => upgradeId(target) === upgradeId(oldUpgrade!));
    expect(reattaches).toHaveLength(1);
  });
});

describe.each([
  { when: "while its client is away", refuseReattach: true },
  { when: "after its client is back", refuseReattach: false },
])("a hub whose admission ends after its connection's socket dropped ($when)", ({ refuseReattach }) => {
  const start = rosaBehindProxy();

  it("is not opened: its client dropped the open with the socket, and opens the hub anew", async () => {
    const meter = startMeter();
    const auth = heldAuthentication();
    const { proxy, hubs } = await start({}, { authenticate: auth.authenticate }, { telemetry: { meterProvider: meter.meterProvider } });
    const news = hubs.hub("/news");
    await news.start();
    const newsId = news.connectionId;

    const admissionBegun = auth.holdNext();
    const presence = hubs.hub("/presence");
    const firstStart = presence.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    const letGo = await within(admissionBegun, "the presence hub's admission to begin");
    if (refuseReattach) proxy.refuse(true);
    proxy.cut();
    if (refuseReattach) {
      const newsWaits = async () => valueOf((await meter.metrics()).get("hubwire.server.suspended_connections"), { "hubwire.hub": "NewsHub" }) === 1;
      await waitFor(newsWaits, "the server to see the socket drop");
    } else {
      expect(await within(news.invoke("Echo", "back"), "the news hub to resume")).toBe("back");
    }
    letGo();
    if (refuseReattach) proxy.refuse(false);

    // The open the client sent before the drop failed on its side; it opens the hub again.
    if ((await within(firstStart, "the first start to end")) !== undefined) await presence.start();
    expect(await presence.invoke("Echo", "open")).toBe("open");
    expect(await news.invoke("Echo", "after")).toBe("after");
    expect(news.connectionId).toBe(newsId);
    // One presence hub on the server, the one the client uses: none left over from the dropped open.
    expect(lifecycle.filter((event) => event.startsWith("presence"))).toEqual(["presence connected rosa"]);
  });
});
