import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubContext, type LogFields, type Logger, type ScaleOutSettings } from "../../src/index.js";
import { Redis, type RedisOptions } from "ioredis";
import { RedisBackplane } from "../../src/redis/index.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

interface TickClient {
  tick(n: number, padding: string): void;
  announce(text: string): void;
  answer(): Promise<string>;
}

/** What a call that needs another server ended with: its value, or its error's code. */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  try {
    return await call;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

@HubClass()
class TickHub extends Hub<TickClient> {
  @HubMethod("Tick")
  tick(n: number): Promise<void> {
    return this.clients.all.tick(n, "");
  }

  @HubMethod("Announce")
  announce(text: string): Promise<void> {
    return this.clients.all.announce(text);
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("JoinOther")
  joinOther(connectionId: string, group: string): Promise<unknown> {
    return outcome(this.groups.addToGroup(connectionId, group).then(() => "joined"));
  }

  @HubMethod("JoinUser")
  joinUser(userId: string, group: string): Promise<unknown> {
    return outcome(this.groups.addUserToGroup(userId, group).then(() => "joined"));
  }

  @HubMethod("Ask")
  ask(connectionId: string): Promise<unknown> {
    return outcome(this.clients.client(connectionId).invoke("answer"));
  }
}

/** A logger that keeps what the outbox reports. */
function recordingLogger(): Logger & { lines: Array<{ message: string; fields?: LogFields }> } {
  const lines: Array<{ message: string; fields?: LogFields }> = [];
  const keep = (message: string, fields?: LogFields) => void lines.push({ message, fields });
  return { lines, level: "info", debug: () => {}, info: keep, warn: keep, error: keep };
}

/** Ticks a client received, and how they arrived: each number once, in order. */
function tally(received: number[], upTo: number) {
  const seen = new Set(received);
  let outOfOrder = 0;
  for (let i = 1; i < received.length; i++) if (received[i]! <= received[i - 1]!) outOfOrder++;
  let lost = 0;
  for (let n = 1; n <= upTo; n++) if (!seen.has(n)) lost++;
  return { lost, duplicated: received.length - seen.size, outOfOrder };
}

/**
 * A hub on server A sends to clients on server B through a Redis of the test's own, which the
 * test stops and starts (or whose link it black-holes) while A keeps sending.
 */
describe("the outbox: sends ride out a Redis outage", () => {
  let redis: OwnRedis;
  let servers: HubServer[] = [];
  let clients: HubConnection[] = [];
  let proxy: TcpProxy | undefined;

  beforeEach(async () => {
    redis = await startOwnRedis();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.close()));
    await proxy?.close();
    await redis.stop();
    [clients, servers, proxy] = [[], [], undefined];
  });

  const fast: ScaleOutSettings = { heartbeatInterval: 100, serverTimeout: 1_500 };

  async function startServer(options: { url?: string; logger?: Logger; scaleOut?: ScaleOutSettings; redis?: RedisOptions } = {}) {
    const logger = options.logger ?? silentLogger;
    const backplane = new RedisBackplane({ url: options.url ?? redis.url, redis: options.redis, logger, publishTimeout: 500 });
    const server = new HubServer({ logger, backplane, scaleOut: { ...fast, ...options.scaleOut } });
    const context = server.mapHub("/ticks", TickHub);
    servers.push(server);
    return { context, backplane, url: (await server.listen()).url };
  }

  async function connect(url: string, messagePack = false): Promise<{ connection: HubConnection; received: number[]; announced: string[] }> {
    const builder = new HubConnectionBuilder()
      .withUrl(`${url}/ticks`, { transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None);
    const connection = (messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
    const received: number[] = [];
    connection.on("tick", (n: number) => received.push(n));
    connection.on("answer", () => "here");
    const announced: string[] = [];
    connection.on("announce", (text: string) => announced.push(text));
    await connection.start();
    clients.push(connection);
    return { connection, received, announced };
  }

  /** Sends numbered ticks from a hub context, one every few milliseconds, until stopped; to `group` too, as announcements, if given. */
  function steadySends(context: HubContext<TickClient>, group?: string) {
    let sent = 0;
    let running = true;
    const done = (async () => {
      while (running) {
        const n = ++sent;
        await Promise.all([context.clients.all.tick(n, ""), group === undefined ? undefined : context.clients.group(group).announce(String(n))]);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    return {
      get sent() {
        return sent;
      },
      stop: async () => {
        running = false;
        await done;
        return sent;
      },
    };
  }

  /** Waits until each server hears the other: a tick from A reaches a client of B. */
  async function untilLinked(from: HubContext<TickClient>, to: { received: number[] }) {
    await waitFor(() => {
      void from.clients.all.tick(0, "");
      return to.received.includes(0);
    }, "server B to hear server A");
    // Ticks from one server arrive in order: once this one is in, so are the zeros sent before it.
    void from.clients.all.tick(-1, "");
    await waitFor(() => to.received.includes(-1), "the ticks sent while linking");
    to.received.length = 0;
  }

  it("delivers every send made while Redis is down, once and in order, after it restarts", async () => {
    const a = await startServer();
    const b = await startServer();
    const onA = await connect(a.url);
    const onB = [await connect(b.url), await connect(b.url, true)];
    await untilLinked(a.context, onB[0]!);
    await waitFor(() => onB[1]!.received.includes(-1), "the ticks sent while linking");
    onB[1]!.received.length = 0;

    const sends = steadySends(a.context);
    await waitFor(() => onB.every((c) => c.received.length >= 20), "ticks on server B before the outage");
    await redis.stop();
    const sentAtStop = sends.sent;
    await waitFor(() => sends.sent >= sentAtStop + 100, "sends during the outage");
    // A hub method that sends to all returns while Redis is still down: it never waits for it.
    await onA.connection.invoke("Announce", "during the outage");
    expect(onA.announced).toEqual(["during the outage"]);
    // Server B heard none of them while Redis was down; it gets them all after.
    const heardDuringOutage = Math.max(...onB.map((c) => c.received.length));
    expect(heardDuringOutage).toBeLessThan(sentAtStop + 100);
    await redis.start();
    await waitFor(() => onB.every((c) => c.received.includes(sends.sent)), "ticks after Redis restarts", 15_000);
    const last = await sends.stop();
    await waitFor(() => onB.every((c) => c.received.includes(last)), "the last tick");

    for (const client of onB) expect(tally(client.received, last)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    for (const client of onB) expect(client.announced).toEqual(["during the outage"]);
  });

  it("delivers a send made after a short Redis restart, before the other server has subscribed again", async () => {
    // Heartbeats far apart: server A publishes nothing while Redis is down, so no publish of its
    // own fails; only its links dropping tell it that what it publishes next may reach no one.
    const quiet: ScaleOutSettings = { heartbeatInterval: 60_000, serverTimeout: 130_000 };
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
    const a = await startServer({ scaleOut: quiet });
    const b = await startServer({ url: proxy.url.replace("http:", "redis:"), scaleOut: quiet });
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);

    // Server B cannot reach Redis again until the test lets it.
    proxy.refuse(true);
    await redis.stop();
    await redis.start();
    const refusedBefore = proxy.refused;
    await waitFor(() => proxy!.refused > refusedBefore, "server B to try to reconnect and be refused");
    const links = (backplane: RedisBackplane) => [backplane["publisher"].status, backplane["subscriber"].status];
    await waitFor(() => links(a.backplane).every((status) => status === "ready"), "server A's links to Redis to be back");
    await a.context.clients.all.tick(1, "");
    proxy.refuse(false);
    await waitFor(() => links(b.backplane).every((status) => status === "ready"), "server B's links to Redis to be back");
    await waitFor(() => {
      void a.context.clients.all.tick(2, "");
      return onB.received.includes(2);
    }, "server B to hear server A again", 15_000);
    expect(onB.received[0]).toBe(1);
    expect(tally(onB.received.filter((n) => n !== 2), 1)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  it("holds what it sends while another server's subscribing link alone is down, and delivers it once that server hears again", async () => {
    const a = await startServer();
    // Server B makes a dropped link again after 300 ms: long enough for server A to send meanwhile.
    const b = await startServer({ redis: { retryStrategy: () => 300 } });
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);

    await killSubscriberOf(b.backplane);
    const outbox = servers[0]!["scaleOut"]!["managers"][0]!["outbox"];
    await waitFor(() => !outbox.isOpen, "server A to hold what it sends: server B said it hears nothing");
    for (let n = 1; n <= 5; n++) await a.context.clients.all.tick(n, "");
    await waitFor(() => onB.received.includes(5), "the ticks on server B once it hears again");
    expect(tally(onB.received, 5)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  /** Server B's hub's scale-out manager. */
  const managerOfB = () => servers[1]!["scaleOut"]!["managers"][0]!;

  /** Redis drops the backplane's subscribing connection, and only that. */
  async function killSubscriberOf(backplane: RedisBackplane) {
    const admin = new Redis(redis.url);
    const subscriber = backplane["subscriber"] as Redis;
    await admin.client("KILL", "ADDR", `127.0.0.1:${subscriber.stream.localPort}`);
    admin.disconnect();
  }

  /** Servers A and B (started with `a` and `b`), B's client hearing A's steady ticks, 20 of them already. */
  async function ticksFromAToB(options: { a?: Parameters<typeof startServer>[0]; b?: Parameters<typeof startServer>[0] } = {}) {
    const a = await startServer(options.a);
    const b = await startServer(options.b);
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);
    const sends = steadySends(a.context);
    await waitFor(() => onB.received.length >= 20, "ticks on server B before the fault");
    return { b, onB, sends };
  }

  /** Once server B hears again and server A sent 20 ticks more, B must have had every tick once, in order. */
  async function everyTickOnceHeardAgain(sends: ReturnType<typeof steadySends>, onB: { received: number[] }) {
    await waitFor(() => managerOfB().peers.connected, "server B to hear again", 15_000);
    const heardAgainAt = sends.sent;
    await waitFor(() => sends.sent > heardAgainAt + 20, "ticks sent after server B hears again");
    const last = await sends.stop();
    await waitFor(() => onB.received.includes(last), "the last tick on server B", 15_000);
    expect(tally(onB.received, last)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  }

  it("delivers to a server whose subscribing link stays down longer than its presence waits what another server sent meanwhile", async () => {
    // Server B makes its dropped link again after 4 s: by then its presence, which hears nothing,
    // has stopped waiting for itself (twice serverTimeout), and server A has stopped holding for it.
    const { b, onB, sends } = await ticksFromAToB({ b: { redis: { retryStrategy: () => 4_000 } } });
    await killSubscriberOf(b.backplane);
    await waitFor(() => !managerOfB().peers.connected, "server B to notice it hears nothing");
    await everyTickOnceHeardAgain(sends, onB);
  }, 30_000);

  it("delivers every send once and in order across a Redis that answers no one for longer than publishTimeout", async () => {
    const log = recordingLogger();
    const { onB, sends } = await ticksFromAToB({ a: { logger: log } });
    // As a failover's pause, a slow script or a long fork does: for 2 s Redis answers nothing,
    // and both servers' publishes and PINGs time out (publishTimeout is 500 ms here).
    const admin = new Redis(redis.url);
    await admin.client("PAUSE", 2_000, "ALL");
    admin.disconnect();
    const stalledAt = sends.sent;
    await waitFor(() => sends.sent > stalledAt + 20, "ticks sent while Redis stalls");
    await everyTickOnceHeardAgain(sends, onB);
    // The stall was long enough to matter: server A's publishing link was made again.
    expect(log.lines.map((line) => line.message)).toContain("Redis did not answer in time; reconnecting");
  }, 30_000);

  it("asks for what a server missed only once Redis took its subscriptions again, however long it refuses them", async () => {
    const { b, onB, sends } = await ticksFromAToB();
    // Server B's subscriber reconnects at once, and Redis refuses its SUBSCRIBE (through its ACL).
    const admin = new Redis(redis.url);
    await admin.call("ACL", "SETUSER", "default", "-subscribe");
    await killSubscriberOf(b.backplane);
    try {
      // Hearing nothing for twice serverTimeout, its presence stops waiting and opens its outbox:
      // asked now, server A's answer would go to a channel B does not have.
      await waitFor(() => managerOfB()["outbox"].isOpen && !managerOfB().peers.connected, "server B to stop waiting to hear itself", 15_000);
    } finally {
      await admin.call("ACL", "SETUSER", "default", "+subscribe");
      admin.disconnect();
    }
    await everyTickOnceHeardAgain(sends, onB);
  }, 30_000);

  /** Server B's Redis connections go through a proxy, which swallows everything on them until B notices and makes new ones. */
  async function silentlyCutLinkOfB(options: { scaleOutOfA?: ScaleOutSettings; loggerOfB?: Logger } = {}) {
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
    const a = await startServer({ scaleOut: options.scaleOutOfA });
    const b = await startServer({ url: proxy.url.replace("http:", "redis:"), logger: options.loggerOfB });
    const onB = await connect(b.url);
    // A second client of B, in MessagePack, in a group that server A sends to as well.
    const inGroup = await connect(b.url, true);
    await inGroup.connection.invoke("Join", "g");
    await untilLinked(a.context, onB);
    const sends = steadySends(a.context, "g");
    await waitFor(() => onB.received.length >= 20 && inGroup.announced.length >= 20, "ticks on server B before its link is cut");
    // Pub/sub keeps nothing for a subscriber that does not read: what Redis sends B now is lost.
    proxy.blackHole();
    const sentAtCut = sends.sent;
    const managerOfB = servers[1]!["scaleOut"]!["managers"][0]!;
    await waitFor(() => !managerOfB.peers.connected, "server B to notice it hears nothing", 15_000);
    await waitFor(() => managerOfB.peers.connected, "server B to hear again on new connections", 15_000);
    const sentWhileCut = sends.sent - sentAtCut;
    const last = await sends.stop();
    return { onB, inGroup, last, sentWhileCut };
  }

  it("delivers to a server whose link was silently cut what another server sent meanwhile, once and in order", async () => {
    const logger = recordingLogger();
    const { onB, inGroup, last, sentWhileCut } = await silentlyCutLinkOfB({ loggerOfB: logger });
    expect(sentWhileCut).toBeGreaterThan(10);
    await waitFor(() => onB.received.includes(last) && inGroup.announced.includes(String(last)), "the last tick and announcement on server B", 15_000);
    expect(tally(onB.received, last)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(tally(inGroup.received.filter((n) => n > 0), last)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(tally(inGroup.announced.map(Number), last)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    // Sent again: what server A published while B heard nothing (what A held once B said so is not among it).
    const replayed = logger.lines.find((line) => line.message.startsWith("Another server sent again"));
    expect(replayed?.fields?.resent).toBeGreaterThan(0);
    expect(servers[0]!.scaleOutStats(TickHub)?.resent).toBeGreaterThan(0);
    expect(servers[1]!.scaleOutStats(TickHub)?.replayed).toBeGreaterThan(0);
  });

  it("says how much a server whose link was cut may have missed when the sender kept too little to send it again", async () => {
    const logger = recordingLogger();
    // Server A keeps what it sent 100 ms at most: server B's cut lasts longer.
    const { onB, last } = await silentlyCutLinkOfB({ scaleOutOfA: { outboxMaxAge: 100 }, loggerOfB: logger });
    await waitFor(() => onB.received.includes(last), "the last tick on server B", 15_000);
    const incomplete = logger.lines.find((line) => line.message.startsWith("Another server kept too little"));
    const { lost } = tally(onB.received, last);
    expect(lost).toBeGreaterThan(0);
    expect(incomplete?.fields?.missing).toBeGreaterThanOrEqual(lost);
  });

  it("returns from a hub method that sends while the publishing link is black-holed, and delivers once the link is made again", async () => {
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
    const a = await startServer({ url: proxy.url.replace("http:", "redis:") });
    const b = await startServer();
    const caller = await connect(a.url);
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);

    // From now on, nothing on server A's Redis connections goes through, and nothing closes them.
    proxy.blackHole();
    for (let n = 1; n <= 5; n++) await caller.connection.invoke("Tick", n); // each returns without Redis
    await waitFor(() => caller.received.includes(5), "the local deliveries");
    expect(onB.received).toEqual([]);
    // The publish times out, the link is made again through the proxy, and the outbox goes out in order.
    await waitFor(() => onB.received.includes(5), "the ticks on server B after the link is remade", 15_000);
    expect(tally(onB.received, 5)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  it("publishes again the sends whose answer from Redis was lost, and server B drops the copies", async () => {
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
    const a = await startServer({ url: proxy.url.replace("http:", "redis:") });
    const b = await startServer();
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);

    // Redis gets server A's publishes and delivers them; its answers to server A are lost.
    proxy.blackHole({ only: "fromServer" });
    for (let n = 1; n <= 5; n++) await a.context.clients.all.tick(n, "");
    await waitFor(() => onB.received.includes(5), "the ticks on server B");
    // No answer in time: server A remakes its links and publishes the five again.
    await waitFor(() => servers[0]!.scaleOutStats(TickHub)!.waiting.messages === 0, "server A to publish them again", 15_000);
    await a.context.clients.all.tick(6, "");
    await waitFor(() => onB.received.includes(6), "the tick sent after");
    expect(onB.received).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("past its byte bound drops the oldest sends, and says how many in one warning", async () => {
    const logger = recordingLogger();
    const a = await startServer({ logger, scaleOut: { outboxMaxBytes: 20_000 } });
    const b = await startServer();
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);

    await redis.stop();
    const total = 200;
    // Each send is about 1 KB in the outbox (the text in JSON and MessagePack): 200 of them pass the bound.
    for (let n = 1; n <= total; n++) await a.context.clients.all.tick(n, "x".repeat(400));
    await redis.start();
    await waitFor(() => onB.received.includes(total), "the newest ticks on server B", 15_000);

    const drops = logger.lines.filter((line) => line.message.includes("dropped messages past its bounds"));
    expect(drops).toHaveLength(1);
    const dropped = drops[0]!.fields!.dropped as number;
    expect(dropped).toBeGreaterThan(0);
    // The oldest were dropped, the rest arrived once and in order: the count is exact.
    expect(onB.received).toEqual(Array.from({ length: total - dropped }, (_, i) => dropped + 1 + i));
  });

  it("past its time bound drops the sends that waited too long, and says how many", async () => {
    const logger = recordingLogger();
    const a = await startServer({ logger, scaleOut: { outboxMaxAge: 300 } });
    const b = await startServer();
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);

    await redis.stop();
    for (let n = 1; n <= 5; n++) await a.context.clients.all.tick(n, "");
    const sentAt = Date.now();
    await waitFor(() => Date.now() - sentAt > 300, "the ticks to pass the outbox's time bound");
    await redis.start();
    const dropped = () => logger.lines.filter((line) => line.message.includes("dropped messages past its bounds"));
    await waitFor(() => dropped().length > 0, "the outbox to open again", 15_000);
    for (let n = 6; n <= 10; n++) await a.context.clients.all.tick(n, "");
    await waitFor(() => onB.received.includes(10), "the ticks sent after on server B");

    expect(onB.received).toEqual([6, 7, 8, 9, 10]);
    expect(dropped().map((line) => line.fields!.dropped)).toEqual([5]);
  });

  it("fails group changes, a user's group changes and client results that need another server at once while Redis is down, with their code", async () => {
    const a = await startServer();
    const b = await startServer();
    const onA = await connect(a.url);
    const onB = await connect(b.url);
    await untilLinked(a.context, onB);
    // Server B subscribes to its client's channel just after telling the client it is connected.
    await waitFor(async () => (await onA.connection.invoke("Ask", onB.connection.connectionId)) === "here", "a client result from server B");

    await redis.stop();
    // Both end while Redis is still down: nothing waits for it to come back.
    expect(await onA.connection.invoke("JoinOther", onB.connection.connectionId, "ops")).toBe("ERR_BACKPLANE_UNAVAILABLE");
    expect(await onA.connection.invoke("JoinUser", "ada", "ops")).toBe("ERR_BACKPLANE_UNAVAILABLE");
    expect(await onA.connection.invoke("Ask", onB.connection.connectionId)).toBe("ERR_BACKPLANE_UNAVAILABLE");
    await redis.start();
    await waitFor(async () => (await onA.connection.invoke("JoinOther", onB.connection.connectionId, "ops")) === "joined", "the group change to go through again", 15_000);
  });

  it("with Redis down at start, a new connection's calls and group joins do not wait for it", async () => {
    await redis.stop();
    const a = await startServer();
    const started = Date.now();
    const client = await connect(a.url);
    await client.connection.invoke("Join", "ops");
    await client.connection.invoke("Tick", 1);
    // Before, each waited three seconds for Redis (the first subscription of a connection, a group's).
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(client.received).toEqual([1]);
  });
});
