import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { json, silentLogger, type HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import { HubServer, silentLogger as serverSilent, type HubClassType, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { redisUrl, slowRedis, type SlowRedis } from "../support/redis.js";
import { Received, steadySendBufferSize, steadySendPauseMs } from "../support/stream-clients.js";
import { whenLettingGo } from "../support/move-faults.js";
import { waitFor, within } from "../support/wait.js";
import { connected, disconnected, PackHub, PlainHub, TextHub, type StreamHub } from "./stream-hubs.js";

// A multiplexed connection whose hubs are stateful moves, as a plain stateful connection does,
// to the server its client's next socket reaches when its server drains (docs/multiplexing.md).

/** The stateful hubs the client opens, with the server's class of each. */
const stateful: Array<{ path: string; hubClass: HubClassType<StreamHub> }> = [
  { path: "/text", hubClass: TextHub },
  { path: "/pack", hubClass: PackHub },
];
const targets = ["all", "group", "user", "connection"] as const;

describe("a multiplexed connection with stateful hubs moves when its server drains", () => {
  let channelPrefix: string;
  let servers: HubServer[] = [];
  let proxy: RoundRobinProxy | undefined;
  let hubs: HubMultiplexer | undefined;
  /** A slow network in front of the shared Redis, when a test puts its servers behind one. */
  let slowNetwork: SlowRedis | undefined;

  /** `pack`: how /pack is mapped there (a deploy may drop MessagePack, or the hub). */
  function newServer(logger: Logger = serverSilent, pack: "mapped" | "json only" | "not mapped" = "mapped"): HubServer {
    const server = new HubServer({
      logger,
      allowStatefulReconnects: true,
      statefulReconnectBufferSize: steadySendBufferSize,
      authenticate: (_request, token) => (token ? { sub: token } : null),
      backplane: new RedisBackplane({ url: slowNetwork?.url ?? redisUrl, channelPrefix, logger: serverSilent }),
    });
    server.mapHub("/text", TextHub);
    if (pack !== "not mapped") server.mapHub("/pack", PackHub, pack === "json only" ? { protocols: ["json"] } : {});
    server.mapHub("/plain", PlainHub);
    server.mapMultiplexer("/hubs");
    return server;
  }

  /**
   * Starts `list` behind the round-robin proxy, and hubwire's multiplexer through it: a binary
   * connection with stateful reconnect, as user "ann" (not yet started).
   */
  async function behindProxy(list: HubServer[]): Promise<{ urls: string[]; multiplexer: HubMultiplexer }> {
    servers = list;
    const urls = await Promise.all(list.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
    hubs = new HubMultiplexer(`${proxy.url}/hubs`, { transports: ["WebSockets"], protocol: messagePack, statefulReconnect: true, accessTokenFactory: () => "ann", logger: silentLogger });
    return { urls, multiplexer: hubs };
  }

  afterEach(async () => {
    await hubs?.stop();
    await proxy?.close();
    await Promise.all(servers.map((server) => server.close()));
    await slowNetwork?.close();
    slowNetwork = undefined;
  });

  it("keeps every stateful hub's id, user and group through a rolling restart of three servers, and loses, doubles and reorders nothing; a hub without stateful reconnect starts anew", async () => {
    // A channel prefix of this test's own: other tests and runs may share the Redis.
    channelPrefix = `mux-moves-${randomUUID()}`;
    connected.clear();
    const { urls, multiplexer } = await behindProxy([newServer(), newServer(), newServer()]);
    // A binary connection: a JSON hub and a MessagePack hub, both stateful, and one that is not.
    const opened = new Map<string, HubConnection>([
      ["/text", multiplexer.hub("/text", { protocol: json })],
      ["/pack", multiplexer.hub("/pack")],
    ]);
    const plain = multiplexer.hub("/plain", { statefulReconnect: false });
    const received = new Map<string, Received>();
    const reconnecting = new Map<string, number>();
    for (const [path, hub] of opened) {
      const streams = new Received();
      received.set(path, streams);
      hub.on("message", streams.record);
      reconnecting.set(path, 0);
      hub.onReconnecting(() => void reconnecting.set(path, reconnecting.get(path)! + 1));
    }
    let plainReconnects = 0;
    plain.onReconnected(() => void plainReconnects++);
    await Promise.all([...opened.values(), plain].map((hub) => hub.start()));
    const ids = new Map<string, string>();
    for (const [path, hub] of opened) {
      ids.set(path, await hub.invoke<string>("Id"));
      await hub.invoke("Join", "room");
    }
    const plainId = await plain.invoke<string>("Id");

    // Steady sends to the hubs' all, group, user and connection, one round at a time, from a
    // server that is not draining: what a round sent is counted once it returned. Each server
    // numbers its own streams: sends of two servers are not ordered with each other.
    const sent = new Map<string, number>();
    let sender = 0;
    const rounds = [0, 0, 0];
    const origins = new Map<HubServer, string>();
    let sending = true;
    const sends = (async () => {
      while (sending) {
        const from = sender;
        const server = servers[from]!;
        if (!origins.has(server)) origins.set(server, `server ${origins.size}`);
        const origin = origins.get(server)!;
        const n = (sent.get(`/text connection from ${origin}`) ?? 0) + 1;
        await Promise.all(
          stateful.flatMap(({ path, hubClass }) => {
            const { clients } = server.hubContext(hubClass);
            const id = ids.get(path)!;
            return [clients.all, clients.group("room"), clients.user("ann"), clients.client(id)].map((to, i) => to.message(`${targets[i]} from ${origin}`, n));
          }),
        );
        for (const { path } of stateful) for (const target of targets) sent.set(`${path} ${target} from ${origin}`, n);
        rounds[from]!++;
        await new Promise((resolve) => setTimeout(resolve, steadySendPauseMs));
      }
    })();
    /** Messages received by a hub, over every stream to its connection. */
    const count = (path: string) => [...received.get(path)!.streams].filter(([stream]) => stream.startsWith("connection")).reduce((sum, [, numbers]) => sum + numbers.length, 0);
    const flowing = async (what: string) => {
      const from = stateful.map(({ path }) => count(path));
      await waitFor(
        () => stateful.every(({ path }, i) => count(path) >= from[i]! + 20),
        () => `messages ${what} (${stateful.map(({ path }, i) => `${path}: ${count(path)}, from ${from[i]}`).join("; ")})`,
        20_000,
      );
    };
    /** Sends come from server `index` from the next round on. */
    const sendFrom = async (index: number) => {
      sender = index;
      const from = rounds[index]!;
      await waitFor(() => rounds[index]! > from + 1, `sends from server ${index}`);
    };

    await flowing("before the restarts");
    /** Drains of the server that held the connection then. */
    let holderDrains = 0;
    for (let i = 0; i < servers.length; i++) {
      await sendFrom((i + 1) % servers.length);
      if (servers[i]!.connectionCount > 0) holderDrains++;
      await servers[i]!.drain({ timeout: 20_000 });
      servers[i] = newServer();
      await servers[i]!.listen(Number(new URL(urls[i]!).port));
      await flowing(`after server ${i} drained`);
    }
    sending = false;
    await sends;
    const streamOf = (key: string) => {
      const space = key.indexOf(" ");
      return { streams: received.get(key.slice(0, space))!, stream: key.slice(space + 1) };
    };
    const arrived = () => [...sent].every(([key, n]) => streamOf(key).streams.last(streamOf(key).stream) >= n);
    await waitFor(arrived, "every message sent to arrive");

    expect(holderDrains).toBeGreaterThanOrEqual(1);
    expect(sent.size).toBeGreaterThanOrEqual(stateful.length * targets.length * 3);
    for (const [key, n] of sent) {
      const { streams, stream } = streamOf(key);
      expect({ key, ...streams.faults(stream, n) }).toEqual({ key, lost: 0, duplicated: 0, outOfOrder: 0 });
    }
    for (const [path, hub] of opened) {
      expect(await hub.invoke("Id")).toBe(ids.get(path));
      expect(hub.connectionId).toBe(ids.get(path));
      expect(await hub.invoke("Whoami")).toBe("ann");
    }
    expect(Object.fromEntries(reconnecting)).toEqual({ "/text": 0, "/pack": 0 });
    expect(Object.fromEntries(connected)).toMatchObject({ text: 1, pack: 1 });
    // Still in the group, on whichever server holds the connection now.
    const holder = servers.find((server) => server.connectionCount > 0)!;
    await holder.hubContext(PackHub).clients.group("room").message("after", 1);
    await waitFor(() => received.get("/pack")!.last("after") === 1, "a group send after the moves");
    // The hub without stateful reconnect started anew each time, and works.
    expect(plainReconnects).toBeGreaterThanOrEqual(1);
    expect(await plain.invoke("Echo", "still here")).toBe("still here");
    expect(await plain.invoke("Id")).not.toBe(plainId);
  }, 90_000);

  it.each(["json only", "not mapped"] as const)("starts a hub anew, alone, when the server its connection moves to cannot take its state (its hub there: %s), and logs why", async (packThere) => {
    channelPrefix = `mux-moves-${randomUUID()}`;
    const warnings: string[] = [];
    const logger: Logger = { ...serverSilent, level: "warn", warn: (_message, fields) => void warnings.push(String((fields?.error as { code?: string } | undefined)?.code)) };
    // Negotiated on server 0, the socket on server 1 (round robin): server 1 holds the
    // connection, and it moves to server 0, whose /pack cannot take the MessagePack hub.
    const { multiplexer } = await behindProxy([newServer(logger, packThere), newServer()]);
    const text = multiplexer.hub("/text", { protocol: json });
    const pack = multiplexer.hub("/pack");
    const lost = new Promise<void>((resolve) => pack.onReconnecting(() => resolve()));
    await Promise.all([text.start(), pack.start()]);
    const id = await text.invoke<string>("Id");
    await text.invoke("Join", "room");
    expect(servers[1]!.connectionCount).toBe(1);

    await servers[1]!.drain({ timeout: 20_000 });
    // Told its channel closed once the socket is back, it reconnects as a new connection (which
    // server 0 refuses) at once.
    await within(lost, "the hub that could not move to start anew", 20_000);
    expect(warnings).toContain("ERR_CONNECTION_MOVE_FAILED");
    expect(await text.invoke("Id")).toBe(id);
    const heard = new Promise<number>((resolve) => text.on("message", (_stream: string, n: number) => resolve(n)));
    await servers[0]!.hubContext(TextHub).clients.group("room").message("after", 1);
    expect(await heard).toBe(1);
  }, 60_000);

  it.each([
    ["before the old server lets go of the connection", "before", "/hubs"],
    ["while the hub lets go there", "while", "/pack"],
  ] as const)("starts a hub anew, alone, when it was sent more than its stateful buffer holds while its connection moved (%s); the others move", async (_when, at, faultPath) => {
    channelPrefix = `mux-moves-${randomUUID()}`;
    // Negotiated on server 0, the socket on server 1 (round robin): server 1 holds the connection.
    const { multiplexer } = await behindProxy([newServer(), newServer()]);
    const text = multiplexer.hub("/text", { protocol: json });
    const pack = multiplexer.hub("/pack");
    const packLost = new Promise<void>((resolve) => pack.onReconnecting(() => resolve()));
    let textReconnects = 0;
    text.onReconnecting(() => void textReconnects++);
    await Promise.all([text.start(), pack.start()]);
    const [textId, packId] = await Promise.all([text.invoke<string>("Id"), pack.invoke<string>("Id")]);
    expect(servers[1]!.connectionCount).toBe(1);

    // Server 1 sends the MessagePack hub more than its buffer holds once server 0 is ready for the connection.
    whenLettingGo(servers[1]!, faultPath, at, () => void servers[1]!.hubContext(PackHub).clients.client(packId).message("x".repeat(steadySendBufferSize), 1));
    proxy!.cutWebSockets();
    await within(packLost, "the hub that could not move to start anew");
    await waitFor(() => servers[0]!.connectionCount === 1 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    expect(await text.invoke("Id")).toBe(textId);
    expect(textReconnects).toBe(0);
    await waitFor(async () => (await pack.invoke<string>("Id").catch(() => packId)) !== packId, "the hub to open anew with a new id");
  });

  it("lets go of no hub when one cannot let go, and moves the connection whole on its client's next attempt", async () => {
    channelPrefix = `mux-moves-${randomUUID()}`;
    disconnected.clear();
    connected.clear();
    // Negotiated on server 0, the socket on server 1 (round robin): server 1 holds the connection.
    const { multiplexer } = await behindProxy([newServer(), newServer()]);
    const text = multiplexer.hub("/text", { protocol: json });
    const pack = multiplexer.hub("/pack");
    let reconnects = 0;
    for (const hub of [text, pack]) hub.onReconnecting(() => void reconnects++);
    await Promise.all([text.start(), pack.start()]);
    const [textId, packId] = await Promise.all([text.invoke<string>("Id"), pack.invoke<string>("Id")]);
    expect(servers[1]!.connectionCount).toBe(1);

    // While its move fences, the MessagePack hub joins a group the move did not plan for: it
    // cannot let go (the new server does not listen to that group), and the JSON hub could.
    let joined: Promise<void> | undefined;
    whenLettingGo(servers[1]!, "/pack", "while", () => void (joined = servers[1]!.hubContext(PackHub).groups.addToGroup(packId, "late")));
    proxy!.cutWebSockets();
    await waitFor(() => joined !== undefined, "the group join during the move");
    await joined;
    // The move fails and nothing is let go: the client's next attempt resumes the connection,
    // whole, on the server it reaches (moved there with its new group, or still on server 1).
    await waitFor(async () => (await pack.invoke<string>("Id").catch(() => undefined)) === packId, "the MessagePack hub back with its id", 20_000);
    expect(await text.invoke("Id")).toBe(textId);
    expect(servers.map((server) => server.connectionCount).sort()).toEqual([0, 1]);
    const received = new Promise<number>((resolve) => pack.on("message", (_stream: string, n: number) => resolve(n)));
    await servers[0]!.hubContext(PackHub).clients.group("late").message("late", 7);
    expect(await within(received, "a send to the group joined during the move")).toBe(7);
    expect(reconnects).toBe(0);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1 });
    expect(disconnected.size).toBe(0);
  });

  it.each([
    ["Redis as it is", 0],
    ["Redis slow and uneven: a third of its packets held up to 20 ms", 20],
  ])("moves a connection whose socket dropped to the server its client comes back through, while both servers send (%s)", async (_name, redisDelayMs) => {
    if (redisDelayMs > 0) {
      slowNetwork = await slowRedis(redisDelayMs);
    }
    channelPrefix = `mux-moves-${randomUUID()}`;
    connected.clear();
    // Negotiated on server 0, the socket on server 1 (round robin): server 1 holds the connection.
    const { multiplexer } = await behindProxy([newServer(), newServer()]);
    const text = multiplexer.hub("/text", { protocol: json });
    const streams = new Received();
    text.on("message", streams.record);
    let reconnects = 0;
    text.onReconnecting(() => void reconnects++);
    await text.start();
    const id = await text.invoke<string>("Id");
    await text.invoke("Join", "room");
    expect(servers.map((server) => server.connectionCount)).toEqual([0, 1]);

    const sent = new Map<string, number>();
    let sending = true;
    const senders = servers.map(async (server, origin) => {
      const { clients } = server.hubContext(TextHub);
      for (let n = 1; sending; n++) {
        await Promise.all([clients.all, clients.group("room"), clients.user("ann"), clients.client(id)].map((to, i) => to.message(`${targets[i]} from ${origin}`, n)));
        for (const target of targets) sent.set(`${target} from ${origin}`, n);
        await new Promise((resolve) => setTimeout(resolve, steadySendPauseMs));
      }
    });
    await waitFor(() => streams.last("all from 1") >= 20, "messages before the drop");
    proxy!.cutWebSockets();
    await waitFor(() => servers[0]!.connectionCount === 1 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    const arrived = streams.last("all from 0");
    await waitFor(() => streams.last("all from 0") >= arrived + 20, "messages after the move");
    sending = false;
    await Promise.all(senders);
    await waitFor(
      () => [...sent].every(([stream, n]) => streams.last(stream) >= n),
      () => `every message sent to arrive (${streams.behind(sent)})`,
    );

    for (const [stream, n] of sent) expect({ stream, ...streams.faults(stream, n) }).toEqual({ stream, lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(await text.invoke("Id")).toBe(id);
    expect(await text.invoke("User")).toEqual({ sub: "ann" });
    expect(reconnects).toBe(0);
    expect(connected.get("text")).toBe(1);
  }, 60_000);
});
