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
import { waitFor } from "../support/wait.js";
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

  it("brings a connection whose server crashed back on its standby, with every stateful hub's id, group and what was sent meanwhile; it then moves on as any", async () => {
    const channelPrefix = `mux-crash-${randomUUID()}`;
    connected.clear();
    backplanes = [];
    /** Server `index` (a new one in its place, if there was one). */
    const newServer = (index: number): HubServer => {
      const backplane = new RedisBackplane({ url: redisUrl, channelPrefix, logger: serverSilent });
      backplanes[index] = backplane;
      const server = new HubServer({
        logger: serverSilent,
        allowStatefulReconnects: true,
        // Room for what a recovered hub is written: its unacknowledged messages, the empty Completions and the kept sends.
        statefulReconnectBufferSize: 1_000_000,
        authenticate: (_request, token) => (token ? { sub: token } : null),
        backplane,
        scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000, recovery: true },
      });
      server.mapHub("/text", TextHub);
      server.mapHub("/pack", PackHub);
      server.mapHub("/late", LateHub);
      server.mapMultiplexer("/hubs");
      return server;
    };
    servers = [newServer(0), newServer(1)];
    const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);

    // Negotiated on server 0, the socket on server 1 (round robin): server 1 holds it, server 0 is its standby.
    hubs = new HubMultiplexer(`${proxy.url}/hubs`, { transports: ["WebSockets"], protocol: messagePack, statefulReconnect: true, accessTokenFactory: () => "ann", logger: silentLogger });
    const opened = new Map<string, HubConnection>([
      ["/text", hubs.hub("/text", { protocol: json })],
      ["/pack", hubs.hub("/pack")],
    ]);
    const received = new Map<string, Received>();
    let reconnects = 0;
    for (const [path, hub] of opened) {
      const streams = new Received();
      received.set(path, streams);
      hub.on("message", streams.record);
      hub.onReconnecting(() => void reconnects++);
    }
    await Promise.all([...opened.values()].map((hub) => hub.start()));
    const ids = new Map<string, string>();
    for (const [path, hub] of opened) {
      ids.set(path, await hub.invoke<string>("Id"));
      await hub.invoke("Join", "room");
    }
    expect(servers.map((server) => server.connectionCount)).toEqual([0, 1]);
    // Each hub can be recovered on server 0: two checkpoints of it made since it listened.
    const managers = servers[0]!["scaleOut"]!["managers"];
    await waitFor(
      () => [...ids.values()].every((id) => managers.some((manager) => (manager["recovery"]?.["kept"].get(id)?.checkpointsSince ?? 0) >= 2)),
      "server 0 to be able to recover every hub",
    );

    // Both servers send to both hubs on every target; server 1 crashes; server 0 goes on.
    const sent = new Map<string, number>();
    const sending = [true, true];
    const senders = servers.map(async (server, origin) => {
      for (let n = 1; sending[origin]; n++) {
        await Promise.all(
          [...ids].flatMap(([path, id]) => {
            const { clients } = server.hubContext(hubClasses[path]!);
            return [clients.all, clients.group("room"), clients.user("ann"), clients.client(id)].map((to, i) => to.message(`${targets[i]} from ${origin}`, n));
          }),
        );
        for (const path of ids.keys()) for (const target of targets) sent.set(`${path} ${target} from ${origin}`, n);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    await waitFor(() => [...received.values()].every((streams) => streams.last("all from 1") >= 40), "messages before the crash");
    sending[1] = false;
    // A stateful hub opened after server 1's last checkpoint: server 0 cannot know it, and it starts anew.
    for (const manager of servers[1]!["scaleOut"]!["managers"]) manager["recovery"]?.stop();
    const late = hubs.hub("/late", { protocol: json });
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
    for (const [path, streams] of received) {
      for (const target of targets) {
        const stream = `${target} from 0`;
        const n = sent.get(`${path} ${stream}`)!;
        await waitFor(() => streams.last(stream) >= n, `every message of '${path} ${stream}' to arrive`);
        expect({ path, stream, lost: streams.faults(stream, n).lost }).toEqual({ path, stream, lost: 0 });
      }
    }
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(reconnects).toBe(0);
    expect(await lateAnew).not.toBe(lateId);
    expect(await late.invoke("Id")).not.toBe(lateId);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1, late: 2 });
    expect(servers[0]!.scaleOutStats(TextHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    expect(servers[0]!.scaleOutStats(PackHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    await servers[0]!.hubContext(PackHub).clients.group("room").message("after", 1);
    await waitFor(() => received.get("/pack")!.last("after") === 1, "a group send after the recovery");

    // The recovered connection moves on as any stateful one: server 1 is back (a new server on
    // its port), and server 0 drains; the client's next socket reaches server 1.
    servers[1] = newServer(1);
    await servers[1].listen(Number(new URL(urls[1]!).port));
    await servers[0]!.drain({ timeout: 20_000 });
    await waitFor(() => servers[1]!.connectionCount === 1, "the recovered connection to move to server 1");
    for (const [path, hub] of opened) expect(await hub.invoke("Id")).toBe(ids.get(path));
    expect(await late.invoke("Id")).toBe(await lateAnew);
    expect(reconnects).toBe(0);
    expect(Object.fromEntries(connected)).toEqual({ text: 1, pack: 1, late: 2 });
    await servers[1].hubContext(TextHub).clients.group("room").message("moved", 1);
    await waitFor(() => received.get("/text")!.last("moved") === 1, "a group send after the move");
  }, 60_000);
});
