import { randomUUID } from "node:crypto";
import type { MeterProvider } from "@opentelemetry/sdk-metrics";
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type Logger, type ScaleOutSettings } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { standbyOf } from "../../src/lifetime/connection-recovery.js";
import { redisUrl } from "../support/redis.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { hubwireClient, officialClient, type StreamClient as Client } from "../support/stream-clients.js";
import { hangAfterLettingGo, stallWhileLettingGo, steerTo } from "../support/move-faults.js";
import { waitFor, within } from "../support/wait.js";
import { startMeter, valueOf } from "../telemetry/otel-sdk.js";

interface StreamClient {
  message(stream: string, n: number): void;
}

/** onDisconnected runs (on any server). */
let disconnects = 0;

@HubClass()
class RecoveryHub extends Hub<StreamClient> {
  override onDisconnected(): void {
    disconnects++;
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }

  @HubMethod("Whoami")
  whoami(): string | undefined {
    return this.context.userIdentifier;
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  /** Keeps a note in the connection's items (a string key and plain data: it is checkpointed). */
  @HubMethod("Note")
  note(text: string): void {
    this.context.items.set("note", { text });
  }

  @HubMethod("ReadNote")
  readNote(): unknown {
    return this.context.items.get("note") ?? null;
  }
}

/** The bearer token is the user's name. */
function userOf(_request: unknown, bearer: string | undefined): unknown {
  return bearer ? { sub: bearer } : null;
}

/** Presence as tests shorten it: a dead server is noticed within about a second. */
const timings = { heartbeatInterval: 100, serverTimeout: 1_000 };

/** Warnings logged, by message, with their fields. */
class Warnings implements Logger {
  readonly lines: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
  readonly level = "warn" as const;
  debug(): void {}
  info(): void {}
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ message, fields });
  }
  error(): void {}
}

describe("crash recovery of stateful connections", () => {
  let channelPrefix: string;
  let servers: HubServer[] = [];
  let backplanes: RedisBackplane[] = [];
  let proxy: RoundRobinProxy | undefined;
  let clients: Client[] = [];
  let warnings: Warnings;

  /** `disconnectTimeouts`: per server, the default 15 s where not given; `meters`: per server, none where not given. */
  async function startCluster(count: number, scaleOut: ScaleOutSettings, disconnectTimeouts: number[] = [], meters: Array<MeterProvider | undefined> = []): Promise<void> {
    // A channel prefix of this test's own: other tests and runs may share the Redis.
    channelPrefix = `crash-${randomUUID()}`;
    warnings = new Warnings();
    disconnects = 0;
    backplanes = [];
    servers = Array.from({ length: count }, (_, index) => {
      const disconnectTimeout = disconnectTimeouts[index] ?? 15_000;
      const backplane = new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger });
      backplanes.push(backplane);
      // A buffer that holds what a recovered connection is written at this test's send rates: the
      // unacknowledged messages, the empty Completions and the kept sends (see docs/scale-out.md).
      const statefulReconnectBufferSize = 1_000_000;
      const meterProvider = meters[index];
      const telemetry = meterProvider ? { telemetry: { meterProvider } } : {};
      const server = new HubServer({ logger: warnings, allowStatefulReconnects: true, statefulReconnectBufferSize, disconnectTimeout, backplane, scaleOut, ...telemetry });
      server.mapHub("/recovery", RecoveryHub, { authenticate: userOf });
      return server;
    });
    const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
  }

  /**
   * Server `index` stops as a killed process does, with no goodbye: its heartbeats stop, its
   * Redis connections close (Redis drops its subscriptions), it takes no new TCP connection, and
   * its clients' sockets drop.
   */
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

  /** Server `index` keeps connection `id` and can recover it: it has two checkpoints made since it listened for it. */
  function recoverable(index: number, id: string): Promise<void> {
    const recovery = servers[index]!["scaleOut"]!["managers"][0]!["recovery"]!;
    return waitFor(() => (recovery["kept"].get(id)?.checkpointsSince ?? 0) >= 2, `server ${index} to be able to recover the connection`);
  }

  /**
   * Ada's official client (JSON), held by server 1, which server 0 can recover. Disconnect
   * timeouts of a minute unless given: on a loaded machine each stall past serverTimeout
   * restarts a deaf server's judgement, and the client's reconnect may wait long for it.
   */
  async function heldByServer1(scaleOut: ScaleOutSettings = { ...timings, recovery: true }, disconnectTimeouts = [60_000, 60_000]): Promise<{ client: Client; id: string }> {
    await startCluster(2, scaleOut, disconnectTimeouts);
    const client = await officialClient(`${proxy!.url}/recovery`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    await recoverable(0, id);
    return { client, id };
  }

  /**
   * Keeps a server deaf to the backplane until `lastCheckpoint` is older than the time a standby
   * forgets a connection whose holder stopped checkpointing it, by calling `down` (its presence
   * hears nothing of itself) every 20 ms.
   */
  async function deafPastStaleLimit(down: () => void, lastCheckpoint: number): Promise<void> {
    const deaf = setInterval(down, 20);
    try {
      await waitFor(() => Date.now() > lastCheckpoint + 2 * timings.serverTimeout + 3 * timings.heartbeatInterval, "deaf past the stale limit");
    } finally {
      clearInterval(deaf);
    }
  }

  /** The official client with stateful reconnect; `reconnected` settles with the id of the new connection it had to start. */
  async function statefulClient(url: string): Promise<{ connection: HubConnection; reconnected: Promise<string | undefined> }> {
    const connection = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => "ada" })
      .withStatefulReconnect()
      .withAutomaticReconnect([0, 100, 200, 500])
      .configureLogging(LogLevel.None)
      .build();
    const reconnected = new Promise<string | undefined>((resolve) => connection.onreconnected(resolve));
    await connection.start();
    clients.push({ stop: () => connection.stop() } as Client);
    return { connection, reconnected };
  }

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop().catch(() => {})));
    clients = [];
    await proxy?.close();
    await Promise.all(servers.map((server) => server.close().catch(() => {})));
  });

  it.each([
    ["the official client, JSON", (url: string) => officialClient(url, "ada", false)],
    ["the official client, MessagePack", (url: string) => officialClient(url, "ada", true)],
    ["hubwire's client, JSON", (url: string) => hubwireClient(url, "ada", false)],
    ["hubwire's client, MessagePack", (url: string) => hubwireClient(url, "ada", true)],
  ])("a client whose server crashed comes back on its standby with its id, user and groups, and gets what was sent meanwhile (%s)", async (name, connect) => {
    await startCluster(2, { ...timings, recovery: true });
    // Negotiated on server 0, its WebSocket on server 1 (round robin): server 1 holds it, server 0 is its standby.
    const client = await connect(`${proxy!.url}/recovery`);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await client.invoke("Join", "room");
    await client.invoke("Note", "kept");
    await waitFor(() => servers[1]!.connectionCount === 1 && servers[0]!.connectionCount === 0, "server 1 to hold the connection");
    await recoverable(0, id);
    const kept = () => servers[0]!["scaleOut"]!["managers"][0]!["recovery"]!["kept"].get(id);
    await waitFor(() => kept()?.checkpoint?.items !== undefined, "a checkpoint with the note to reach the standby");

    // Both servers send on every target; server 1 crashes; server 0 goes on sending while the
    // client comes back, through server 0, and after.
    const hubs = servers.map((server) => server.hubContext(RecoveryHub));
    const sent = new Map<string, number>();
    let sending = [true, true];
    const senders = hubs.map(async (hub, origin) => {
      for (let n = 1; sending[origin]; n++) {
        await Promise.all([
          hub.clients.all.message(`all from ${origin}`, n),
          hub.clients.group("room").message(`group from ${origin}`, n),
          hub.clients.user("ada").message(`user from ${origin}`, n),
          hub.clients.client(id).message(`connection from ${origin}`, n),
        ]);
        for (const target of ["all", "group", "user", "connection"]) sent.set(`${target} from ${origin}`, n);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    // Two checkpoints at least, with traffic: the standby trims what it keeps at each.
    await waitFor(() => client.received.last("all from 1") >= 40, "messages before the crash");
    sending[1] = false;
    await crash(1);
    await waitFor(() => servers[0]!.connectionCount === 1, "server 0 to take the connection over", 15_000);
    const arrived = client.received.last("all from 0");
    await waitFor(() => client.received.last("all from 0") >= arrived + 20, "messages after the recovery");
    sending = [false, false];
    await Promise.all(senders);

    // What the surviving server sent (through the backplane while the client was away): nothing lost.
    for (const target of ["all", "group", "user", "connection"]) {
      const stream = `${target} from 0`;
      await waitFor(() => client.received.last(stream) >= sent.get(stream)!, `every message of '${stream}' to arrive`);
      expect({ stream, lost: client.received.faults(stream, sent.get(stream)!).lost }).toEqual({ stream, lost: 0 });
    }
    expect(await client.invoke("Id")).toBe(id);
    expect(await client.invoke("Whoami")).toBe("ada");
    expect(await client.invoke("ReadNote")).toEqual({ text: "kept" }); // from its last checkpoint
    expect(client.restarts()).toBe(0);
    expect(servers[0]!.scaleOutStats(RecoveryHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    // Still in its group, on the server that took it over.
    await hubs[0]!.clients.group("room").message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a group send after the recovery");
    // And through the backplane: the server that took it over listens to its group, user and connection.
    const other = (await anotherServer()).hubContext(RecoveryHub);
    await Promise.all([other.clients.group("room").message("group from another", 1), other.clients.user("ada").message("user from another", 1), other.clients.client(id).message("connection from another", 1)]);
    for (const target of ["group", "user", "connection"]) await waitFor(() => client.received.last(`${target} from another`) === 1, `a send to its ${target} from another server`);
    const faults = [...sent].map(([stream, n]) => ({ stream, ...client.received.faults(stream, n) }));
    console.log(`crash of the holder (${name}): ${JSON.stringify(faults.filter((fault) => fault.lost + fault.duplicated + fault.outOfOrder > 0))}`);
  });

  it.each([
    ["the official client, JSON; to its standby", (url: string) => officialClient(url, "ada", false), 2],
    ["hubwire's client, MessagePack; to its standby", (url: string) => hubwireClient(url, "ada", true), 2],
    ["the official client, JSON; to a third server", (url: string) => officialClient(url, "ada", false), 3],
    ["hubwire's client, MessagePack; to a third server", (url: string) => hubwireClient(url, "ada", true), 3],
  ])("a client whose server dies after letting go of it in a move comes back through its standby, with nothing lost (%s)", async (_name, connect, count) => {
    await startCluster(count, { ...timings, recovery: true });
    const client = await connect(`${proxy!.url}/recovery`);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await client.invoke("Join", "room");
    await waitFor(() => servers.filter((server) => server.connectionCount === 1).length === 1, "one server to hold the connection");
    const holder = servers.findIndex((server) => server.connectionCount === 1);
    const keeps = (index: number) => (servers[index]!["scaleOut"]!["managers"][0]!["recovery"]!["kept"].get(id)?.checkpointsSince ?? 0) >= 2;
    await waitFor(() => servers.some((_server, index) => index !== holder && keeps(index)), "a standby able to recover the connection");
    const standby = servers.findIndex((_server, index) => index !== holder && keeps(index));
    // The client's next socket goes to the next server in turn: with three, the one that is neither.
    const destination = count === 2 ? standby : [0, 1, 2].find((index) => index !== holder && index !== standby)!;
    const upgradesThere = await steerTo(proxy!, destination, count);
    // The holder dies the moment its hub has let go of the moving connection, before it answers
    // with the state: what it had checkpointed to the standby must bring the connection back.
    const letGo = hangAfterLettingGo(servers[holder]!, "/recovery");
    const hub = servers[destination]!.hubContext(RecoveryHub);
    const sent = new Map<string, number>();
    let sending = true;
    const sender = (async () => {
      for (let n = 1; sending; n++) {
        await Promise.all([
          hub.clients.all.message("all", n),
          hub.clients.group("room").message("group", n),
          hub.clients.user("ada").message("user", n),
          hub.clients.client(id).message("connection", n),
        ]);
        for (const target of ["all", "group", "user", "connection"]) sent.set(target, n);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await waitFor(() => client.received.last("all") >= 20, "messages before the move");
    void servers[holder]!.drain({ timeout: 20_000 }).catch(() => {});
    await letGo;
    await crash(holder);
    const before = client.received.last("all");
    await waitFor(() => client.received.last("all") >= before + 20, "messages after the recovery", 15_000);
    sending = false;
    await sender;
    for (const [stream, n] of sent) {
      await waitFor(() => client.received.last(stream) >= n, `every message of '${stream}' to arrive`);
      expect({ stream, lost: client.received.faults(stream, n).lost }).toEqual({ stream, lost: 0 });
    }
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    expect(servers[standby]!.scaleOutStats(RecoveryHub)?.recovery).toMatchObject({ recovered: 1, lost: 0 });
    expect(upgradesThere()).toBeGreaterThan(0); // the move went where it was meant to
  });

  it.each([
    ["recovery off", timings],
    ["recovery on", { ...timings, recovery: true }],
  ])("a holder that stalls past serverTimeout while it lets go keeps the connection its new server gave up on, and the client comes back (%s)", async (_name, scaleOut) => {
    await startCluster(2, scaleOut);
    const client = await officialClient(`${proxy!.url}/recovery`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await client.invoke("Join", "room");
    await waitFor(() => servers[1]!.connectionCount === 1 && servers[0]!.connectionCount === 0, "server 1 to hold the connection");
    if ("recovery" in scaleOut) await recoverable(0, id);
    // Server 1 stalls the moment it gets ready to let go of the connection (server 0, where the
    // client comes back, said it is ready): longer than serverTimeout, so that server 0 judges it
    // dead and gives the move up, and tells it so. Only then does server 1 go on, and it must
    // keep the connection rather than send its state to a server that no longer takes it. With
    // recovery on, server 0 has also taken it over: the client comes back to either copy.
    const stall = stallWhileLettingGo(servers[1]!, backplanes[1]!, "/recovery");
    const arriving: Map<string, unknown> = servers[0]!["endpoints"].get("/recovery")!.endpoint["router"]!["moving"]!["arriving"];
    const presence = servers[0]!["scaleOut"]!["managers"][0]!["presence"];
    const holder = servers[1]!["scaleOut"]!.serverId;
    proxy!.cutWebSockets();
    await within(stall.stalled, "server 1 to begin letting go");
    await waitFor(() => presence.hasDied(holder) && arriving.size === 0, "server 0 to judge server 1 dead and give the move up");
    await servers[0]!.hubContext(RecoveryHub).clients.client(id).message("meanwhile", 1);
    stall.resume();
    await waitFor(() => client.received.last("meanwhile") === 1, "a send made while the holder stalled", 20_000);
    expect(await client.invoke("Id")).toBe(id);
    expect(await client.invoke("Whoami")).toBe("ada");
    expect(client.restarts()).toBe(0);
    await servers[0]!.hubContext(RecoveryHub).clients.group("room").message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a group send after the stall");
  }, 60_000);

  it("recovers a connection whose standby was deaf when its server crashed, and the client's reconnect waits for it", async () => {
    const { client, id } = await heldByServer1();
    const standby = servers[0]!["scaleOut"]!["managers"][0]!;
    const lastCheckpoint: number = standby["recovery"]!["kept"].get(id)!.heardAt;
    await crash(1);
    // Server 0 hears nothing through the backplane a while (its event loop stalled, or its link
    // to Redis blinked): past the time it forgets a connection whose holder stopped
    // checkpointing, and past the usual wait of the client's reconnect. Only then can its
    // presence, which judges a timeout after it hears itself again, declare server 1 dead.
    await deafPastStaleLimit(() => standby["presence"].down(), lastCheckpoint);
    await waitFor(() => servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.recovered === 1, "server 0 to take the connection over", 45_000);
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    await servers[0]!.hubContext(RecoveryHub).clients.client(id).message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a send after the recovery");
  }, 60_000);

  /**
   * Server 0 hears nothing of server 1 (server 1 paused past serverTimeout, say) until it has
   * taken server 1's connection over, while the client stays on server 1; then `meanwhile`
   * runs, and server 0 hears server 1 again.
   */
  async function takenOverFromPausedServer1(meanwhile: () => Promise<void> = async () => {}): Promise<void> {
    const presence = servers[0]!["scaleOut"]!["managers"][0]!["presence"];
    const paused = servers[1]!["scaleOut"]!.serverId;
    const heard = presence.heard.bind(presence);
    presence.heard = (serverId, ...rest) => (serverId === paused ? undefined : heard(serverId, ...rest));
    try {
      await waitFor(() => servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.recovered === 1, "server 0 to take the connection over", 15_000);
      await meanwhile();
    } finally {
      presence.heard = heard;
    }
    await waitFor(() => presence.isAlive(paused), "server 0 to hear server 1 again");
  }

  it("sends from a standby that rebuilt a connection for a server only paused reach the client still on that server", async () => {
    const { client, id } = await heldByServer1();
    await takenOverFromPausedServer1(async () => {
      expect(servers[0]!.connectionCount).toBe(1);
      // Server 0's hub sends to the connection it holds too: the client, on server 1, gets it once.
      for (let n = 1; n <= 3; n++) await servers[0]!.hubContext(RecoveryHub).clients.client(id).message("from the standby", n);
      await waitFor(() => client.received.last("from the standby") === 3, "the standby's sends on the client");
      expect(client.received.faults("from the standby", 3)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    });
    expect(await client.invoke("Id")).toBe(id);
  }, 60_000);

  it("keeps a connection whose server was deaf a while (its checkpoints held in its outbox), and recovers it when that server then dies", async () => {
    const { client, id } = await heldByServer1();
    const presence = servers[1]!["scaleOut"]!["managers"][0]!["presence"];
    const kept = () => servers[0]!["scaleOut"]!["managers"][0]!["recovery"]!["kept"].get(id);
    const record = kept()!;
    // Server 1 hears nothing through the backplane a while (its subscriber's link is down): its
    // heartbeats still go out, saying so, and its checkpoints wait in its outbox, past the time
    // a standby forgets a connection whose live holder stopped checkpointing it. (Each down()
    // also restarts the time after which an outbox that never hears itself opens anyway.)
    const heard = presence.heard;
    presence.heard = () => {};
    try {
      await deafPastStaleLimit(() => presence.down(), record.heardAt);
    } finally {
      presence.heard = heard;
    }
    // Still kept, and the same record of it, not one made afresh from the checkpoints that come now.
    expect(kept()).toBe(record);
    await waitFor(() => record.heardAt > Date.now() - timings.serverTimeout, "server 1's held checkpoints to come");
    expect(kept()).toBe(record);
    await crash(1);
    await waitFor(() => servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.recovered === 1, "server 0 to take the connection over", 45_000);
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
  }, 60_000);

  /**
   * Holds back every checkpoint server 1 makes from now on (its outbox busy, say); `release`
   * publishes one of them after all.
   */
  function holdCheckpoints() {
    const host = servers[1]!["scaleOut"]!["managers"][0]!["recovery"]!["host"];
    const publish = host.publish.bind(host);
    const held: Array<Parameters<typeof publish>> = [];
    host.publish = (channel, message) => (message.kind === "checkpoint" ? void held.push([channel, message]) : publish(channel, message));
    return { held, release: (checkpoint: Parameters<typeof publish>) => publish(...checkpoint) };
  }

  /**
   * Server 1 dies; server 0 takes connection `id` over, and its client gets a send to `group`
   * made there, and one made on a server that holds none of the group (through the backplane:
   * server 0 listens to the group for the connection).
   */
  async function recoveredInGroup(client: Client, id: string, group: string): Promise<void> {
    await crash(1);
    await waitFor(() => servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.recovered === 1, "server 0 to take the connection over", 15_000);
    expect(await client.invoke("Id")).toBe(id);
    await servers[0]!.hubContext(RecoveryHub).clients.group(group).message(group, 1);
    await waitFor(() => client.received.last(group) === 1, `a send to group '${group}' on the server that took the connection over`);
    await (await anotherServer()).hubContext(RecoveryHub).clients.group(group).message(group, 2);
    await waitFor(() => client.received.last(group) === 2, `a send to group '${group}' from another server`);
  }

  /** A server of the cluster that holds no connection: what it sends reaches the others through the backplane only. */
  async function anotherServer(): Promise<HubServer> {
    const other = new HubServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }), scaleOut: timings });
    other.mapHub("/recovery", RecoveryHub);
    servers.push(other);
    await other.listen();
    return other;
  }

  it("keeps a group change another server asked for when the holder's checkpoint made just before it reaches the standby after it", async () => {
    // A standby forgets a connection two serverTimeouts after its last checkpoint while its
    // holder lives: longer than the steps below take on a loaded machine.
    const { client, id } = await heldByServer1({ heartbeatInterval: 100, serverTimeout: 3_000, recovery: true });
    // The next checkpoint of server 1 is made before the group change below, and reaches the standby after it.
    const { held, release } = holdCheckpoints();
    await waitFor(() => held.length > 0, "a checkpoint made before the group change");
    const [first] = held.splice(0);
    // Asked by server 0, which is also the standby: server 1 applies it and acknowledges it, and
    // the standby hears it for the connection it keeps.
    await servers[0]!.hubContext(RecoveryHub).groups.addToGroup(id, "late");
    const kept = servers[0]!["scaleOut"]!["managers"][0]!["recovery"]!["kept"];
    await waitFor(() => kept.get(id)?.incoming.groups.has("late") ?? false, "the standby to hear the group change");
    // The held checkpoint arrives, and server 1 dies before its next one.
    const heardBefore = kept.get(id)!.heardAt;
    release(first!);
    await waitFor(() => kept.get(id)!.heardAt > heardBefore, "the standby to get the older checkpoint");
    await recoveredInGroup(client, id, "late");
  });

  it("keeps a group change the holder's own hub made after its last checkpoint", async () => {
    const { client, id } = await heldByServer1({ heartbeatInterval: 100, serverTimeout: 3_000, recovery: true });
    // No checkpoint of server 1 reaches the standby from now on: the last it has predates the change.
    const { held } = holdCheckpoints();
    await waitFor(() => held.length > 0, "a checkpoint held back");
    await servers[1]!.hubContext(RecoveryHub).groups.addToGroup(id, "mine");
    const kept = servers[0]!["scaleOut"]!["managers"][0]!["recovery"]!["kept"];
    await waitFor(() => kept.get(id)?.incoming.groups.has("mine") ?? false, "the standby to hear of the change");
    await recoveredInGroup(client, id, "mine");
  });

  it("without recovery, a client whose server crashed starts a new connection", async () => {
    await startCluster(2, timings);
    const { connection, reconnected } = await statefulClient(`${proxy!.url}/recovery`);
    const id = await connection.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    await crash(1);
    const newId = await reconnected;
    expect(newId).not.toBe(id);
    expect(await connection.invoke("Id")).toBe(newId);
  });

  it("gives a connection up when more was sent to it since its last checkpoint than its standby keeps: counted, logged, a new connection", async () => {
    await startCluster(2, { ...timings, recovery: { maxMessages: 20 } });
    const { connection, reconnected } = await statefulClient(`${proxy!.url}/recovery`);
    const id = await connection.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    await recoverable(0, id);
    await crash(1);
    // Before server 0 can notice the crash (a second): more than the standby keeps.
    const hub = servers[0]!.hubContext(RecoveryHub);
    for (let n = 1; n <= 30; n++) await hub.clients.client(id).message("meanwhile", n);
    await waitFor(() => servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.lost === 1, "the recovery to be given up");
    const errors = warnings.lines.map((line) => line.fields?.error as { code?: string; message: string } | undefined);
    expect(errors).toContainEqual(expect.objectContaining({ code: "ERR_CONNECTION_NOT_RECOVERED", message: expect.stringContaining("more than 20 sends") }));
    const newId = await reconnected;
    expect(newId).not.toBe(id);
    expect(await connection.invoke("Id")).toBe(newId);
    expect(servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.recovered).toBe(0);
  });

  it("ends with no onDisconnected the copy a standby rebuilt for a server only paused, and keeps the connection recoverable", async () => {
    // The standby's copy waits 1.5 s for a client that stays on server 1.
    const { client, id } = await heldByServer1(undefined, [1_500, 60_000]);
    await takenOverFromPausedServer1();
    await waitFor(() => servers[0]!.connectionCount === 0, "the copy on server 0 to end");
    expect(disconnects).toBe(0);
    // The connection lives on server 1, and server 0 keeps it again as its standby.
    expect(await client.invoke("Id")).toBe(id);
    await recoverable(0, id);
    await client.stop();
    await waitFor(() => disconnects === 1, "onDisconnected on server 1");
  }, 60_000);

  it("ends a recovered connection whose client does not come back within the disconnect timeout, with onDisconnected on its new server", async () => {
    // The crashed server would end its own copy after its disconnect timeout: not within the test.
    const meter = startMeter();
    await startCluster(2, { ...timings, recovery: true }, [1_500, 60_000], [meter.meterProvider]);
    /** Server 0's active connections, by transport; a connection that never got a socket there counts as what it was, a WebSocket. */
    const active = async () => (await meter.metrics()).get("signalr.server.active_connections")?.dataPoints.map((point) => [point.attributes, point.value]) ?? [];
    const client = await hubwireClient(`${proxy!.url}/recovery`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    await recoverable(0, id);
    const recovery = async () => {
      const metrics = await meter.metrics();
      const at = (name: string) => valueOf(metrics.get(`hubwire.recovery.connections.${name}`), { "hubwire.hub": "RecoveryHub" });
      return { kept: at("kept"), recoverable: at("recoverable"), recovered: at("recovered"), lost: at("lost") };
    };
    expect(await recovery()).toEqual({ kept: 1, recoverable: 1, recovered: 0, lost: 0 });
    // The client cannot come back: the proxy is gone with the crash.
    await proxy!.close();
    proxy = undefined;
    await crash(1);
    await waitFor(() => servers[0]!.scaleOutStats(RecoveryHub)?.recovery?.recovered === 1, "server 0 to take the connection over");
    expect(servers[0]!.connectionCount).toBe(1);
    expect(await active()).toEqual([[{ "signalr.transport": "web_sockets" }, 1]]);
    expect(await recovery()).toEqual({ kept: 0, recoverable: 0, recovered: 1, lost: 0 });
    await waitFor(() => servers[0]!.connectionCount === 0, "the recovered connection to end");
    await waitFor(() => disconnects === 1, "onDisconnected to run");
    expect(await active()).toEqual([[{ "signalr.transport": "web_sockets" }, 0]]);
  });

  it("checkpoints to a new standby when the standby dies first, and that one recovers the connection", async () => {
    await startCluster(3, { ...timings, recovery: true });
    const client = await officialClient(`${proxy!.url}/recovery`, "ada", true);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await client.invoke("Join", "room");
    const kept = (index: number) => servers[index]!.scaleOutStats(RecoveryHub)?.recovery?.kept ?? 0;
    await waitFor(() => servers.filter((server) => server.connectionCount === 1).length === 1 && kept(0) + kept(1) + kept(2) === 1, "a holder and a standby");
    const holder = servers.findIndex((server) => server.connectionCount === 1);
    const standby = [0, 1, 2].find((index) => kept(index) === 1)!;
    const next = [0, 1, 2].find((index) => index !== holder && index !== standby)!;
    await crash(standby);
    await waitFor(() => kept(next) === 1, "the third server to be the standby now", 15_000);
    await recoverable(next, id);
    await crash(holder);
    await waitFor(() => servers[next]!.connectionCount === 1, "the new standby to take the connection over", 15_000);
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    await servers[next]!.hubContext(RecoveryHub).clients.group("room").message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a group send after the recovery");
  }, 60_000);

  it("takes no checkpoint of a connection's old server that reaches the standby after its new server's, and recovers it from the new one", async () => {
    // A standby forgets a connection two serverTimeouts after its last checkpoint while its
    // holder lives: longer than the steps below take on a loaded machine.
    await startCluster(3, { heartbeatInterval: 100, serverTimeout: 3_000, recovery: true }, [60_000, 60_000, 60_000]);
    const client = await officialClient(`${proxy!.url}/recovery`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await client.invoke("Join", "room");
    const serverIds: string[] = servers.map((server) => server["scaleOut"]!.serverId);
    const recoveryOf = (index: number) => servers[index]!["scaleOut"]!["managers"][0]!["recovery"]!;
    // The server that is the standby of the connection on either of the other two.
    const standby = serverIds.indexOf(standbyOf(id, serverIds)!);
    const [from, to] = [0, 1, 2].filter((index) => index !== standby) as [number, number];
    const holds = (index: number) => servers.every((server, i) => server.connectionCount === (i === index ? 1 : 0));
    const moveTo = async (index: number) => {
      await steerTo(proxy!, index, 3);
      proxy!.cutWebSockets();
      await waitFor(() => holds(index), `server ${index} to hold the connection`, 15_000);
    };
    const keptBy = (holder: number) => {
      const kept = recoveryOf(standby)["kept"].get(id);
      return kept !== undefined && kept.holder === serverIds[holder] && kept.checkpointsSince >= 2;
    };
    if (!holds(from)) await moveTo(from);
    await waitFor(() => keptBy(from), "the standby to keep the connection for its first server");

    // The first server's checkpoints of it, the last of which reaches the standby late.
    const host = recoveryOf(from)["host"];
    const publish = host.publish.bind(host);
    let late: Parameters<typeof publish> | undefined;
    host.publish = (channel, message) => {
      if (message.kind === "checkpoint" && message.connectionId === id) late = [channel, message];
      return publish(channel, message);
    };
    await waitFor(() => late !== undefined, "a checkpoint of the first server");
    await moveTo(to);
    await waitFor(() => keptBy(to), "the standby to keep the connection for its new server");
    const heard: Array<{ kind: string; origin: string }> = [];
    const onMessage = recoveryOf(standby).onMessage.bind(recoveryOf(standby));
    recoveryOf(standby).onMessage = (message) => (heard.push(message), onMessage(message));
    publish(...late!);
    await waitFor(() => heard.some((message) => message.kind === "checkpoint" && message.origin === serverIds[from]), "the old server's checkpoint to reach the standby");
    expect(recoveryOf(standby)["kept"].get(id)!.holder).toBe(serverIds[to]);

    // The old server dies: the standby takes nothing over for it.
    await crash(from);
    await waitFor(() => servers[standby]!["scaleOut"]!["managers"][0]!["presence"].hasDied(serverIds[from]!), "the standby to judge the old server dead", 15_000);
    expect(servers[standby]!.scaleOutStats(RecoveryHub)?.recovery).toMatchObject({ recovered: 0, lost: 0 });
    expect(servers[standby]!.connectionCount).toBe(0);
    // The new server dies: the standby takes the connection over from its checkpoints.
    await crash(to);
    await waitFor(() => servers[standby]!.connectionCount === 1, "the standby to take the connection over", 15_000);
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    await servers[standby]!.hubContext(RecoveryHub).clients.group("room").message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a group send after the recovery");
  }, 90_000);
});
