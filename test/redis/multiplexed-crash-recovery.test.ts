import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { json, silentLogger, type HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import { HubServer, silentLogger as serverSilent, type HubClassType } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { redisUrl } from "../support/redis.js";
import { Received } from "../support/stream-clients.js";
import { hangAfterLettingGo, stallWhileLettingGo, steerTo } from "../support/move-faults.js";
import { waitFor, within } from "../support/wait.js";
import { connected, LateHub, PackHub, TextHub, type StreamHub } from "../multiplexing/stream-hubs.js";

// Crash recovery of a multiplexed connection (docs/scale-out.md, "A crashed server"): its
// stateful hubs are checkpointed to one standby, which rebuilds the connection with them.

const hubClasses: Record<string, HubClassType<StreamHub>> = { "/text": TextHub, "/pack": PackHub };
const targets = ["all", "group", "user", "connection"] as const;

describe("crash recovery of a multiplexed connection", () => {
  let servers: HubServer[] = [];
  let backplanes: RedisBackplane[] = [];
  let proxy: RoundRobinProxy | undefined;
  let hubs: HubMultiplexer | undefined;

  afterEach(async () => {
    await hubs?.stop();
    await proxy?.close();
    await Promise.all(servers.map((server) => server.close().catch(() => {})));
  });

  /** As test/redis/crash-recovery.test.ts: no goodbye, heartbeats stop, Redis drops its subscriptions, sockets drop. */
  async function crash(index: number): Promise<void> {
    const server = servers[index]!;
    for (const manager of server["scaleOut"]!["managers"]) {
      manager["presence"].stop();
      manager["recovery"]?.stop();
    }
    server["httpServer"]!.close();
    await backplanes[index]!.close();
    proxy?.cutWebSockets(index);
  }

  /** Server `index` (a new one in its place, if there was one), on Redis channels under `channelPrefix`. */
  function newServer(index: number, channelPrefix: string, disconnectTimeout?: number, recovery = true): HubServer {
    const backplane = new RedisBackplane({ url: redisUrl, channelPrefix, logger: serverSilent });
    backplanes[index] = backplane;
    const server = new HubServer({
      logger: serverSilent,
      allowStatefulReconnects: true,
      // Room for what a recovered hub is written: its unacknowledged messages, the empty Completions and the kept sends.
      statefulReconnectBufferSize: 1_000_000,
      ...(disconnectTimeout === undefined ? {} : { disconnectTimeout }),
      authenticate: (_request, token) => (token ? { sub: token } : null),
      backplane,
      scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000, recovery },
    });
    server.mapHub("/text", TextHub);
    server.mapHub("/pack", PackHub);
    server.mapHub("/late", LateHub);
    server.mapMultiplexer("/hubs");
    return server;
  }

  /**
   * `count` servers behind the round-robin proxy, and ann's multiplexed connection with a JSON
   * and a MessagePack hub, each in group "room": negotiated on server 0, its socket on server 1
   * (round robin), so server 1 holds it; `standby`, another, can recover every hub (with
   * `recovery`; without, -1).
   */
  async function connectAnn(channelPrefix: string, count = 2, disconnectTimeout?: number, recovery = true) {
    connected.clear();
    backplanes = [];
    servers = Array.from({ length: count }, (_, index) => newServer(index, channelPrefix, disconnectTimeout, recovery));
    const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
    hubs = new HubMultiplexer(`${proxy.url}/hubs`, { transports: ["WebSockets"], protocol: messagePack, statefulReconnect: true, accessTokenFactory: () => "ann", logger: silentLogger });
    const opened = new Map<string, HubConnection>([
      ["/text", hubs.hub("/text", { protocol: json })],
      ["/pack", hubs.hub("/pack")],
    ]);
    const received = new Map<string, Received>();
    const counts = { reconnects: 0 };
    for (const [path, hub] of opened) {
      const streams = new Received();
      received.set(path, streams);
      hub.on("message", streams.record);
      hub.onReconnecting(() => void counts.reconnects++);
    }
    await Promise.all([...opened.values()].map((hub) => hub.start()));
    const ids = new Map<string, string>();
    for (const [path, hub] of opened) {
      ids.set(path, await hub.invoke<string>("Id"));
      await hub.invoke("Join", "room");
    }
    expect(servers.map((server) => server.connectionCount)).toEqual(servers.map((_server, index) => (index === 1 ? 1 : 0)));
    if (!recovery) return { urls, opened, received, ids, counts, standby: -1 };
    const recovers = (server: HubServer) =>
      [...ids.values()].every((id) => server["scaleOut"]!["managers"].some((manager) => (manager["recovery"]?.["kept"].get(id)?.checkpointsSince ?? 0) >= 2));
    await waitFor(() => servers.some(recovers), "a standby able to recover every hub");
    const standby = servers.findIndex(recovers);
    return { urls, opened, received, ids, counts, standby };
  }

  /** Sends from server `origin` to both hubs on every target, numbered, until `sending[origin]` is false; `sent` has the last numbers. */
  async function sendFrom(origin: number, ids: Map<string, string>, sending: boolean[], sent: Map<string, number>): Promise<void> {
    for (let n = 1; sending[origin]; n++) {
      const server = servers[origin]!;
      await Promise.all(
        [...ids].flatMap(([path, id]) => {
          const { clients } = server.hubContext(hubClasses[path]!);
          return [clients.all, clients.group("room"), clients.user("ann"), clients.client(id)].map((to, i) => to.message(`${targets[i]} from ${origin}`, n));
        }),
      );
      for (const path of ids.keys()) for (const target of targets) sent.set(`${path} ${target} from ${origin}`, n);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Nothing server `origin` sent is missing from what each hub received. */
  async function expectNoneLost(origin: number, received: Map<string, Received>, sent: Map<string, number>): Promise<void> {
    for (const [path, streams] of received) {
      for (const target of targets) {
        const stream = `${target} from ${origin}`;
        const n = sent.get(`${path} ${stream}`)!;
        await waitFor(() => streams.last(stream) >= n, `every message of '${path} ${stream}' to arrive`);
        expect({ path, stream, lost: streams.faults(stream, n).lost }).toEqual({ path, stream, lost: 0 });
      }
    }
  }

  it("brings a connection whose server crashed back on its standby, with every stateful hub's id, group and what was sent meanwhile; it then moves on as any", async () => {
    const channelPrefix = `mux-crash-${randomUUID()}`;
    const { urls, opened, received, ids, counts } = await connectAnn(channelPrefix);

    // Both servers send to both hubs on every target; server 1 crashes; server 0 goes on.
    const sent = new Map<string, number>();
    const sending = [true, true];
    const senders = [sendFrom(0, ids, sending, sent), sendFrom(1, ids, sending, sent)];
    await waitFor(() => [...received.values()].every((streams) => streams.last("all from 1") >= 40), "messages before the crash");
    sending[1] = false;
    // A stateful hub opened after server 1's last checkpoint: server 0 cannot know it, and it starts anew.
    for (const manager of servers[1]!["scaleOut"]!["managers"]) manager["recovery"]?.stop();
    const late = hubs!.hub("/late", { protocol: json });
    await late.start();
    const lateId = await late.invoke<string>("Id");
    const lateAnew = new Promise<string | null>((resolve) => late.onReconnected(resolve));
    await crash(1);
    await waitFor(() => servers[0]!.connectionCount === 1, "server 0 to take the connection over", 15_000);
    const before = [...received.values()].map((streams) => streams.last("all from 0"));
    await waitFor(() => [...received.values()].every((streams, i) => streams.last("all from 0") >= before[i]! + 20), "messages after the recovery");
    sending[0] = false;
    await Promise.all(senders);

    // What the surviving server sent (through the backplane while the client was away): nothing lost, per hub.
    await expectNoneLost(0, received, sent);
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(counts.reconnects).toBe(0);
    expect(await lateAnew).not.toBe(lateId);
    expect(await late.invoke("Id")).not.toBe(lateId);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1, late: 2 });
    expect(servers[0]!.scaleOutStats(TextHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    expect(servers[0]!.scaleOutStats(PackHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    await servers[0]!.hubContext(PackHub).clients.group("room").message("after", 1);
    await waitFor(() => received.get("/pack")!.last("after") === 1, "a group send after the recovery");

    // The recovered connection moves on as any stateful one: server 1 is back (a new server on
    // its port), and server 0 drains; the client's next socket reaches server 1.
    servers[1] = newServer(1, channelPrefix);
    await servers[1].listen(Number(new URL(urls[1]!).port));
    // Server 0 listens to each recovered hub's group, user and connection: sends from another server reach them.
    for (const [path, id] of ids) {
      const { clients } = servers[1].hubContext(hubClasses[path]!);
      await Promise.all([clients.group("room").message("group from the new server", 1), clients.user("ann").message("user from the new server", 1), clients.client(id).message("connection from the new server", 1)]);
    }
    for (const target of ["group", "user", "connection"]) {
      await waitFor(() => [...received.values()].every((streams) => streams.last(`${target} from the new server`) === 1), `a send to each hub's ${target} from the new server`);
    }
    await servers[0]!.drain({ timeout: 20_000 });
    await waitFor(() => servers[1]!.connectionCount === 1, "the recovered connection to move to server 1");
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(await late.invoke("Id")).toBe(await lateAnew);
    expect(counts.reconnects).toBe(0);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1, late: 2 });
    await servers[1].hubContext(TextHub).clients.group("room").message("moved", 1);
    await waitFor(() => received.get("/text")!.last("moved") === 1, "a group send after the move");
  }, 60_000);

  it("brings a connection back when its standby was deaf as its server crashed: the client's reconnect waits for it", async () => {
    // As in crash-recovery.test.ts, the client's reconnect and the test wait long on a loaded machine.
    const { opened, ids, counts, standby } = await connectAnn(`mux-crash-deaf-${randomUUID()}`, 2, 60_000);
    const managers = servers[standby]!["scaleOut"]!["managers"];
    const lastCheckpoint = Math.min(...[...ids.values()].map((id) => managers.find((manager) => manager["recovery"]?.["kept"].has(id))!["recovery"]!["kept"].get(id)!.heardAt));
    await crash(1);
    // As in crash-recovery.test.ts: deaf past the usual wait of the client's reconnect, so only
    // the standby's knowing that it keeps the connection's hubs holds the reconnect.
    const deaf = setInterval(() => managers.forEach((manager) => manager["presence"].down()), 20);
    try {
      await waitFor(() => Date.now() > lastCheckpoint + 2 * 1_000 + 300, "the standby to be deaf past the stale limit");
    } finally {
      clearInterval(deaf);
    }
    await waitFor(() => servers[standby]!.scaleOutStats(PackHub)?.recovery?.recovered === 1, "the standby to take the connection over", 45_000);
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(counts.reconnects).toBe(0);
    expect(servers[standby]!.scaleOutStats(TextHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
  }, 60_000);

  it.each([
    ["to its standby", 2],
    ["to a third server", 3],
  ])("brings a connection back through its standby when its server dies after its hubs let go of it in a move %s", async (_name, count) => {
    const { opened, received, ids, counts, standby } = await connectAnn(`mux-crash-move-${randomUUID()}`, count);
    // The client's next socket goes to the next server in turn: with three, the one that is neither.
    const destination = count === 2 ? standby : [0, 2].find((index) => index !== standby)!;
    const upgradesThere = await steerTo(proxy!, destination, count);
    // Server 1 dies the moment its hubs have let go of the moving connection, before it answers
    // with their state: what it had checkpointed to the standby must bring the connection back.
    const letGo = hangAfterLettingGo(servers[1]!, "/hubs");
    const sent = new Map<string, number>();
    const sending = servers.map((_server, index) => index === destination);
    const sender = sendFrom(destination, ids, sending, sent);
    const last = (streams: Received) => streams.last(`all from ${destination}`);
    await waitFor(() => [...received.values()].every((streams) => last(streams) >= 20), "messages before the move");
    void servers[1]!.drain({ timeout: 20_000 }).catch(() => {});
    await letGo;
    await crash(1);
    const before = [...received.values()].map(last);
    await waitFor(() => [...received.values()].every((streams, i) => last(streams) >= before[i]! + 20), "messages after the recovery", 15_000);
    sending[destination] = false;
    await sender;
    await expectNoneLost(destination, received, sent);
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(counts.reconnects).toBe(0);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1 });
    expect(servers[standby]!.scaleOutStats(PackHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    expect(upgradesThere()).toBeGreaterThan(0); // the move went where it was meant to
  }, 60_000);

  it.each([
    ["recovery off", false],
    ["recovery on", true],
  ])("keeps a connection whose holder stalls past serverTimeout while its hubs get ready to let go, once the new server gave the move up; the client comes back (%s)", async (_name, recovery) => {
    const { received, ids, opened, counts } = await connectAnn(`mux-crash-stall-${randomUUID()}`, 2, undefined, recovery);
    // As crash-recovery.test.ts's plain connection: server 1 stalls the moment its /text hub
    // gets ready to let go (server 0, where the client comes back, said it is ready), longer
    // than serverTimeout, so that server 0 judges it dead, gives the move up and tells it so.
    // Only then does server 1 go on, and it must keep the connection rather than send its hubs'
    // state to a server that no longer takes it. With recovery on, server 0, the standby, has
    // also recovered it: the client comes back to either copy.
    await steerTo(proxy!, 0, 2);
    const stall = stallWhileLettingGo(servers[1]!, backplanes[1]!, "/text");
    const arriving: Map<unknown, unknown> = servers[0]!["endpoints"].get("/hubs")!.endpoint["router"]!["moving"]!["arriving"];
    const presence = servers[0]!["scaleOut"]!["managers"][0]!["presence"];
    const holder = servers[1]!["scaleOut"]!.serverId;
    proxy!.cutWebSockets();
    await within(stall.stalled, "server 1's hubs to begin getting ready to let go");
    await waitFor(() => presence.hasDied(holder) && arriving.size === 0, "server 0 to judge server 1 dead and give the move up");
    for (const [path, id] of ids) await servers[0]!.hubContext(hubClasses[path]!).clients.client(id).message("meanwhile", 1);
    stall.resume();
    for (const streams of received.values()) await waitFor(() => streams.last("meanwhile") === 1, "a send made while the holder stalled", 20_000);
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(counts.reconnects).toBe(0);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1 });
    await servers[0]!.hubContext(PackHub).clients.group("room").message("after", 1);
    await waitFor(() => received.get("/pack")!.last("after") === 1, "a group send after the stall");
  }, 60_000);
});
