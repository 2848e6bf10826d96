import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubConnection, silentLogger, type TransportKind } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";
import { startMuxServer, type MuxServer } from "./mux-hubs.js";

// A multiplexed connection is a connection of the multiplexing endpoint: with a backplane, any
// server serves any of its requests (its polls and sends, its SSE stream's sends), as for a hub's.

const transports: TransportKind[] = ["WebSockets", "ServerSentEvents", "LongPolling"];

describe("several hubs over one connection, three servers on one Redis behind a round-robin proxy", () => {
  let servers: MuxServer[];
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    // A channel prefix of this run's own: other tests and runs may share the Redis.
    const channelPrefix = `mux-scale-out-${randomUUID()}`;
    servers = await Promise.all(
      [0, 1, 2].map(() => startMuxServer({}, {}, { backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) })),
    );
    proxy = await startRoundRobinProxy(servers.map((s) => s.url));
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all(servers.map((s) => s.server.close()));
  });

  it.each(transports)("over %s: hubs open, call, stream and hear each other's sends through whichever server a request reaches", async (transport) => {
    const make = (user: string) => new HubMultiplexer(`${proxy.url}/hubs`, { transports: [transport], accessTokenFactory: () => user, logger: silentLogger, reconnect: false });
    const before = proxy.seen.map((kinds) => kinds.length);
    const ann = make("ann");
    const bob = make("bob");
    try {
      const [annNews, annGame, bobNews] = [ann.hub("/news"), ann.hub("/game"), bob.hub("/news")];
      await Promise.all([annNews.start(), annGame.start(), bobNews.start()]);
      const heard: string[] = [];
      bobNews.on("said", (hub: string, text: string) => void heard.push(`${hub}: ${text}`));
      // Several calls, so that the requests of each connection reach every server in turn.
      for (let i = 0; i < 6; i++) {
        expect(await annNews.invoke("Echo", `news ${i}`)).toBe(`news ${i}`);
        expect(await annGame.invoke("Echo", `game ${i}`)).toBe(`game ${i}`);
      }
      const counted: number[] = [];
      await new Promise<void>((resolve, reject) =>
        annGame.stream<number>("Count", 5).subscribe({ next: (n) => void counted.push(n), complete: resolve, error: reject }),
      );
      expect(counted).toEqual([0, 1, 2, 3, 4]);
      await annNews.invoke("TellUser", "bob", "hello");
      await waitFor(() => heard.length === 1, "bob's news hub to hear ann");
      expect(heard).toEqual(["news: hello"]);
      const whoami = (await annGame.invoke("Whoami")) as { user: string; transport: string };
      expect(whoami).toMatchObject({ user: "ann", transport });
      // A WebSocket is one negotiate and one upgrade; the HTTP transports' requests reached every server.
      if (transport !== "WebSockets") expect(proxy.seen.map((kinds, i) => kinds.length - before[i]!).every((n) => n > 0)).toBe(true);
    } finally {
      await Promise.all([ann.stop(), bob.stop()]);
    }
  });

  it("a draining server ends its multiplexed connections once their hubs were told: they reopen through another server while it drains", async () => {
    const hubs = new HubMultiplexer(`${proxy.url}/hubs`, { transports: ["WebSockets"], accessTokenFactory: () => "cy", logger: silentLogger });
    let stateful: HubConnection | undefined;
    try {
      const [news, game] = [hubs.hub("/news"), hubs.hub("/game")];
      await Promise.all([news.start(), game.start()]);
      const before = (await news.invoke("Whoami")) as { connectionId: string };
      const reconnects = { news: 0, game: 0 };
      news.onReconnected(() => void reconnects.news++);
      game.onReconnected(() => void reconnects.game++);
      const holder = servers.find((s) => s.server.connectionCount > 0)!;
      const others = servers.filter((s) => s !== holder);
      // A stateful connection straight to the holder, whose client cannot come back (the holder
      // stops listening): the drain waits for it until its timeout, long enough to look.
      stateful = new HubConnection(`${holder.url}/news`, { transports: ["WebSockets"], statefulReconnect: true, accessTokenFactory: () => "dee", logger: silentLogger });
      await stateful.start();
      const draining = holder.server.drain({ timeout: 5_000 });
      await waitFor(() => reconnects.news > 0 && reconnects.game > 0, "both hubs to reconnect");
      // Reopened on another server while the holder still drains, not on the holder.
      expect(others.some((s) => s.server.connectionCount > 0)).toBe(true);
      expect(await news.invoke("Echo", "after")).toBe("after");
      expect(await game.invoke("Echo", "after")).toBe("after");
      expect(((await news.invoke("Whoami")) as { connectionId: string }).connectionId).not.toBe(before.connectionId);
      expect(reconnects).toEqual({ news: 1, game: 1 });
      await draining;
    } finally {
      await Promise.all([hubs.stop(), stateful?.stop()]);
    }
  });
});
