import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubClientError, silentLogger, type HubConnection, type TransportKind } from "../../client/index.js";
import { HubMultiplexer, type HubMultiplexerOptions } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { chatHub } from "../codegen/generated/chat-hub.client.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, NewsHub, startMuxServer, type MuxServer } from "./mux-hubs.js";

interface Setup {
  name: string;
  transport: TransportKind;
  binary: boolean;
}

const setups: Setup[] = [
  { name: "WebSockets + JSON", transport: "WebSockets", binary: false },
  { name: "Server-Sent Events + JSON", transport: "ServerSentEvents", binary: false },
  { name: "long polling + JSON", transport: "LongPolling", binary: false },
  { name: "WebSockets + MessagePack", transport: "WebSockets", binary: true },
  { name: "long polling + MessagePack", transport: "LongPolling", binary: true },
];

interface Whoami {
  hub: string;
  connectionId: string;
  user: string;
  transport: string;
}

describe.each(setups)("several hubs over one connection, $name", (setup) => {
  let mux: MuxServer;
  const multiplexers: HubMultiplexer[] = [];

  beforeEach(async () => {
    lifecycle.length = 0;
    mux = await startMuxServer({ maximumHubsPerConnection: 4 });
  });

  afterEach(async () => {
    await Promise.all(multiplexers.splice(0).map((m) => m.stop()));
    await mux.server.close();
  });

  function multiplexer(user: string, options: HubMultiplexerOptions = {}, base = mux.url): HubMultiplexer {
    const made = new HubMultiplexer(`${base}/hubs`, {
      transports: [setup.transport],
      accessTokenFactory: () => user,
      logger: silentLogger,
      ...(setup.binary ? { protocol: messagePack } : {}),
      ...options,
    });
    multiplexers.push(made);
    return made;
  }

  async function started(...hubs: HubConnection[]): Promise<void> {
    await Promise.all(hubs.map((hub) => hub.start()));
  }

  it("opens three hubs on one connection, each a connection of its own: calls, streams and client results", async () => {
    const hubs = multiplexer("alice");
    const [news, presence, game] = [hubs.hub("/news"), hubs.hub("/presence"), hubs.hub("/game")];
    await started(news, presence, game);
    expect(mux.server.connectionCount).toBe(1); // one physical connection; the hubs are not HTTP connections
    const seen = await Promise.all([news, presence, game].map((hub) => hub.invoke<Whoami>("Whoami")));
    expect(seen.map((s) => s.hub)).toEqual(["news", "presence", "game"]);
    expect(seen.map((s) => s.user)).toEqual(["alice", "alice", "alice"]);
    expect(seen.map((s) => s.transport)).toEqual([setup.transport, setup.transport, setup.transport]);
    expect(new Set(seen.map((s) => s.connectionId)).size).toBe(3);
    expect(seen.map((s) => s.connectionId)).toEqual([news.connectionId, presence.connectionId, game.connectionId]);
    expect(await news.invoke("Echo", { a: [1, "two"] })).toEqual({ a: [1, "two"] });
    const counted: number[] = [];
    for await (const n of presence.stream<number>("Count", 3)) counted.push(n);
    expect(counted).toEqual([0, 1, 2]);
    game.on("confirm", (question: string) => question === "sure?");
    news.on("confirm", () => false);
    expect(await game.invoke("Ask", "sure?")).toBe(true);
    expect(await news.invoke("Ask", "sure?")).toBe(false);
    expect(lifecycle.sort()).toEqual(["game connected alice", "news connected alice", "presence connected alice"]);
  });

  it("keeps groups and users per hub", async () => {
    const alice = multiplexer("alice");
    const bob = multiplexer("bob");
    const [aliceNews, aliceGame, bobNews, bobGame] = [alice.hub("/news"), alice.hub("/game"), bob.hub("/news"), bob.hub("/game")];
    await started(aliceNews, aliceGame, bobNews, bobGame);
    const heard: string[] = [];
    for (const [name, hub] of [["news", aliceNews], ["game", aliceGame]] as const) hub.on("said", (from: string, text: string) => void heard.push(`${name}: ${from} ${text}`));
    await aliceNews.invoke("Join", "room");
    await bobGame.invoke("TellGroup", "room", "game's room is another group"); // nobody in the game hub's "room"
    await bobNews.invoke("TellGroup", "room", "hello room");
    await bobGame.invoke("TellUser", "alice", "to alice in game");
    await waitFor(() => heard.length >= 2, () => `two messages, got ${JSON.stringify(heard)}`);
    // Each hub hears only its own: on the wire the two arrive in either order.
    expect(heard.sort()).toEqual(["game: game to alice in game", "news: news hello room"]);
  });

  it("delivers a broadcast to the same hub on whatever channel each connection has it", async () => {
    const first = multiplexer("kim");
    const second = multiplexer("lee");
    const kimNews = first.hub("/news"); // channel 1
    const leeGame = second.hub("/game");
    await started(kimNews, leeGame);
    const leeNews = second.hub("/news"); // channel 2
    await leeNews.start();
    const heard: string[] = [];
    for (const [who, hub] of [["kim", kimNews], ["lee", leeNews], ["lee's game", leeGame]] as const) hub.on("said", (_hub: string, text: string) => void heard.push(`${who}: ${text}`));
    await kimNews.invoke("Join", "all");
    await leeNews.invoke("Join", "all");
    await leeGame.invoke("Join", "all");
    await kimNews.invoke("TellGroup", "all", "one");
    await kimNews.invoke("TellGroup", "all", "two");
    await waitFor(() => heard.length >= 4, () => `four messages, got ${JSON.stringify(heard)}`);
    expect(heard.sort()).toEqual(["kim: one", "kim: two", "lee: one", "lee: two"]);
  });

  it("runs onConnected and onDisconnected per hub, and opens and closes hubs on a live connection", async () => {
    const hubs = multiplexer("carol");
    const news = hubs.hub("/news");
    const game = hubs.hub("/game");
    await started(news, game);
    await news.stop();
    await waitFor(() => lifecycle.includes("news disconnected carol"), "the news hub's onDisconnected");
    expect(lifecycle).not.toContain("game disconnected carol");
    expect(await game.invoke("Echo", "still here")).toBe("still here");
    const presence = hubs.hub("/presence");
    await presence.start();
    expect(await presence.invoke("Echo", "opened later")).toBe("opened later");
    await news.start(); // a hub closed alone opens again on the same connection
    expect(await news.invoke("Echo", "back")).toBe("back");
    expect(mux.server.connectionCount).toBe(1);
    // The hub ends the connection (Context.abort): only that hub closes, on both sides.
    const closed = new Promise((resolve) => presence.onClose(resolve));
    await presence.invoke("Leave").catch(() => {});
    await within(closed, "the presence hub to close");
    await waitFor(() => lifecycle.includes("presence disconnected carol"), "the presence hub's onDisconnected");
    expect(await game.invoke("Echo", "unaffected")).toBe("unaffected");
  });

  it("closes a user's connection to one hub from the server, alone; the connection's other hubs go on", async () => {
    const hubs = multiplexer("ada", { reconnect: false });
    const news = hubs.hub("/news");
    const game = hubs.hub("/game");
    await started(news, game);
    const closed = new Promise<Error | undefined>((resolve) => news.onClose(resolve));
    await mux.server.hubContext(NewsHub).connections.closeUser("ada", { error: "Left the news." });
    expect((await within(closed, "the news hub to close"))?.message).toContain("Left the news.");
    expect((await game.invoke<Whoami>("Whoami")).user).toBe("ada");
    await waitFor(() => lifecycle.includes("news disconnected ada"), "the news hub's onDisconnected");
    expect(lifecycle).not.toContain("game disconnected ada");
  });

  it("reopens a hub the server closed with allowReconnect, as a new connection to that hub alone", async () => {
    const hubs = multiplexer("ada");
    const news = hubs.hub("/news");
    const game = hubs.hub("/game");
    await started(news, game);
    const before = await news.invoke<Whoami>("Whoami");
    const gameBefore = await game.invoke<Whoami>("Whoami");
    const reopened = new Promise<string | null>((resolve) => news.onReconnected(resolve));
    await mux.server.hubContext(NewsHub).connections.close(before.connectionId, { allowReconnect: true });
    const after = await within(reopened, "the news hub to reopen");
    expect(after).not.toBe(before.connectionId);
    expect((await news.invoke<Whoami>("Whoami")).connectionId).toBe(after);
    expect((await game.invoke<Whoami>("Whoami")).connectionId).toBe(gameBefore.connectionId);
  });

  it("refuses a hub the user may not use, alone; the others keep working", async () => {
    const hubs = multiplexer("dave");
    const news = hubs.hub("/news");
    await news.start();
    const admin = hubs.hub("/admin");
    const refusal = await admin.start().catch((error: HubClientError) => error);
    expect(refusal).toBeInstanceOf(HubClientError);
    expect((refusal as HubClientError).code).toBe("ERR_UNAUTHORIZED");
    expect((refusal as HubClientError).statusCode).toBe(403);
    expect(admin.state).toBe("Disconnected");
    expect(await news.invoke("Echo", "fine")).toBe("fine");
    const unknown = await hubs.hub("/nothing-here").start().catch((error: HubClientError) => error);
    expect((unknown as HubClientError).code).toBe("ERR_MUX_REFUSED");
    expect((unknown as HubClientError).message).toContain("ERR_MUX_UNKNOWN_HUB");
    const admins = multiplexer("admin");
    const allowed = admins.hub("/admin");
    await allowed.start();
    expect((await allowed.invoke<Whoami>("Whoami")).hub).toBe("admin");
  });

  it("refuses a hub past maximumHubsPerConnection with a coded error; closing one makes room", async () => {
    const hubs = multiplexer("erin");
    const open = [hubs.hub("/news"), hubs.hub("/presence"), hubs.hub("/game"), hubs.hub("/chat")];
    await started(...open);
    const fifth = hubs.hub("/news");
    const refusal = (await fifth.start().catch((error: HubClientError) => error)) as HubClientError;
    expect(refusal.code).toBe("ERR_MUX_REFUSED");
    expect(refusal.message).toContain("ERR_MUX_TOO_MANY_HUBS");
    expect(refusal.statusCode).toBe(429);
    for (const hub of open) expect(await hub.invoke("Echo", 1).catch(() => "chat has no Echo")).toBeDefined();
    await open[0]!.stop();
    await fifth.start();
    expect(await fifth.invoke("Echo", "room made")).toBe("room made");
  });

  it("works with a generated client on a multiplexed hub, unchanged", async () => {
    const hubs = multiplexer("frank");
    const connection = hubs.hub("/chat");
    await connection.start();
    const chat = chatHub(connection);
    const got: string[] = [];
    chat.on({ message: (from, text) => void got.push(`${from === connection.connectionId ? "me" : from}: ${text}`) });
    await chat.join("lobby");
    await chat.Send("lobby", "typed end to end");
    await waitFor(() => got.length === 1, "the group message");
    expect(got).toEqual(["me: typed end to end"]);
    await expect(chat.Send("lobby", "")).rejects.toThrow("Empty message");
  });

  it("reconnects the shared connection once after a drop, and every hub with it", async () => {
    const proxy = await startTcpProxy(Number(new URL(mux.url).port));
    const hubs = multiplexer("grace", { reconnect: { nextDelay: (attempt) => (attempt > 20 ? null : 50) } }, proxy.url);
    const news = hubs.hub("/news");
    const game = hubs.hub("/game");
    await started(news, game);
    const before = [news.connectionId, game.connectionId];
    const reconnected = Promise.all([news, game].map((hub) => new Promise((resolve) => hub.onReconnected(resolve))));
    proxy.cut();
    await within(reconnected, "both hubs to reconnect");
    expect(await news.invoke("Echo", "again")).toBe("again");
    expect(await game.invoke("Echo", "again")).toBe("again");
    expect([news.connectionId, game.connectionId]).not.toEqual(before);
    expect(mux.server.connectionCount).toBe(1);
    await waitFor(() => lifecycle.filter((e) => e.startsWith("news connected")).length === 2, "the news hub's second onConnected");
    await hubs.stop();
    await proxy.close();
  });

  it("closes every hub once the shared connection's retry policy gives up, and each hub only once", async () => {
    const proxy = await startTcpProxy(Number(new URL(mux.url).port));
    const attempts: number[] = [];
    const policy = { nextDelay: (attempt: number) => (attempts.push(attempt), attempt > 2 ? null : 10) };
    const hubs = multiplexer("mia", { reconnect: policy }, proxy.url);
    const news = hubs.hub("/news");
    const game = hubs.hub("/game");
    await started(news, game);
    const closes: string[] = [];
    const closed = Promise.all(
      [["news", news], ["game", game]].map(([name, hub]) => new Promise<void>((resolve) => (hub as HubConnection).onClose(() => (closes.push(name as string), resolve())))),
    );
    proxy.refuse(true); // no new connection gets through
    proxy.cut();
    await within(closed, "both hubs to close");
    expect(closes.sort()).toEqual(["game", "news"]);
    expect(attempts).toEqual([1, 2, 3]); // one loop for the connection, not one per hub
    expect([news.state, game.state]).toEqual(["Disconnected", "Disconnected"]);
    proxy.refuse(false);
    await news.start(); // a hub started later connects the connection again
    expect(await news.invoke("Echo", "back")).toBe("back");
    await hubs.stop();
    await proxy.close();
  });

  it("leaves the official client unaffected: it connects to the same hubs on their own paths", async () => {
    const hubs = multiplexer("heidi");
    const news = hubs.hub("/news");
    await news.start();
    const official = new HubConnectionBuilder()
      .withUrl(`${mux.url}/news`, { accessTokenFactory: () => "ivan", transport: officialTransport(setup.transport) })
      .configureLogging(LogLevel.None)
      .build();
    await official.start();
    try {
      expect(((await official.invoke("Whoami")) as Whoami).user).toBe("ivan");
      const heard = new Promise((resolve) => official.on("said", (_hub: string, text: string) => resolve(text)));
      await news.invoke("TellUser", "ivan", "from a multiplexed hub");
      expect(await within(heard, "the official client to hear")).toBe("from a multiplexed hub");
    } finally {
      await official.stop();
    }
  });
});

describe("a binary shared connection", () => {
  let mux: MuxServer;
  beforeEach(async () => {
    mux = await startMuxServer();
  });
  afterEach(async () => {
    await mux.server.close();
  });

  it("carries a JSON hub and a MessagePack hub side by side", async () => {
    const hubs = new HubMultiplexer(`${mux.url}/hubs`, { protocol: messagePack, accessTokenFactory: () => "judy", logger: silentLogger });
    try {
      const json = hubs.hub("/news", { protocol: jsonHubProtocol });
      const binary = hubs.hub("/game");
      await Promise.all([json.start(), binary.start()]);
      expect(await json.invoke("Echo", "text ✓")).toBe("text ✓");
      expect(await binary.invoke("Echo", new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    } finally {
      await hubs.stop();
    }
  });

  it("refuses a MessagePack hub on a text connection, on the client, with ERR_MUX_FORMAT", async () => {
    const hubs = new HubMultiplexer(`${mux.url}/hubs`, { accessTokenFactory: () => "judy", logger: silentLogger });
    try {
      const error = (await hubs.hub("/game", { protocol: messagePack }).start().catch((e: HubClientError) => e)) as HubClientError;
      expect(error.code).toBe("ERR_MUX_FORMAT");
    } finally {
      await hubs.stop();
    }
  });
});

function officialTransport(kind: TransportKind): number {
  return { WebSockets: 1, ServerSentEvents: 2, LongPolling: 4 }[kind];
}
