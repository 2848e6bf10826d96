import { randomUUID } from "node:crypto";
import { HttpTransportType, HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl, slowRedis, type SlowRedis } from "../support/redis.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { hubwireClient, officialClient, receiversAndSender, steadySendBufferSize, steadySendPauseMs, Traffic, type StreamClient as Client } from "../support/stream-clients.js";
import { whenLettingGo } from "../support/move-faults.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

interface StreamClient {
  /** Message `n` of stream `stream` (each stream numbers its messages 1, 2, 3, ...). */
  message(stream: string, n: number): void;
  /** A client result. */
  answer(): Promise<string>;
}

/** What the hub saw of its connections' lives, across servers. */
const lives = { connected: 0, disconnected: 0 };
/** Why the last connection that ended abnormally ended. */
let lastDisconnectError: Error | undefined;
/** Calls of Slow that have started. */
let slowCalls = 0;

@HubClass()
class MovesHub extends Hub<StreamClient> {
  override onConnected(): void {
    lives.connected++;
  }

  override onDisconnected(error?: Error): void {
    lives.disconnected++;
    if (error) lastDisconnectError = error;
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

  @HubMethod("Slow")
  async slow(ms: number): Promise<string> {
    slowCalls++;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return "done";
  }

  /** Keeps in the connection's items what can move with it and what cannot. */
  @HubMethod("Remember")
  remember(): void {
    const { items } = this.context;
    items.set("count", 3);
    items.set("profile", { name: "ada", tags: ["a", "b"], avatar: new Uint8Array([1, 2]), nothing: null });
    items.set("seen", new Set(["x"]));
    items.set(localKey, "here only");
  }

  /** What the connection's items hold here. */
  @HubMethod("Recall")
  recall(): Record<string, unknown> {
    const { items } = this.context;
    return { count: items.get("count"), profile: items.get("profile"), seen: items.has("seen"), local: items.has(localKey) };
  }

  @HubMethod("ToAll")
  toAll(stream: string, n: number): Promise<void> {
    return this.clients.all.message(stream, n);
  }

  @HubMethod("ToGroup")
  toGroup(group: string, stream: string, n: number): Promise<void> {
    return this.clients.group(group).message(stream, n);
  }

  @HubMethod("ToConnection")
  toConnection(connectionId: string, stream: string, n: number): Promise<void> {
    return this.clients.client(connectionId).message(stream, n);
  }
}

/** An items key of the server's own (a Symbol cannot cross to another server). */
const localKey = Symbol("local");

/** The bearer token is the user's name (these tests are about moving, not tokens). */
function userOf(_request: unknown, bearer: string | undefined): unknown {
  return bearer ? { sub: bearer } : null;
}

describe("connections move between servers with their state", () => {
  let channelPrefix: string;
  let servers: HubServer[] = [];
  let proxy: RoundRobinProxy | undefined;
  let clients: Client[] = [];
  /** A slow network in front of the shared Redis, when a test puts its servers behind one. */
  let slowNetwork: SlowRedis | undefined;
  /** A proxy between a client and its server that can cut it off and refuse its reconnects (see clientBehindFront). */
  let front: TcpProxy | undefined;
  /** Each server's maximumConnections, and the hub's maximumConnectionsPerUser, when a test sets them. */
  let maximumConnections: number | undefined;
  let maximumConnectionsPerUser: number | null = null;

  function newServer(logger: Logger = silentLogger): HubServer {
    const server = new HubServer({
      logger,
      allowStatefulReconnects: true,
      statefulReconnectBufferSize: steadySendBufferSize,
      backplane: new RedisBackplane({ url: slowNetwork?.url ?? redisUrl, channelPrefix, logger: silentLogger }),
      ...(maximumConnections === undefined ? {} : { maximumConnections }),
    });
    server.mapHub("/moves", MovesHub, { authenticate: userOf, maximumConnectionsPerUser });
    server.mapMultiplexer("/hubs");
    return server;
  }

  async function startCluster(count: number): Promise<string[]> {
    // A channel prefix of this test's own: other tests and runs may share the Redis.
    channelPrefix = `moves-${randomUUID()}`;
    lives.connected = lives.disconnected = 0;
    lastDisconnectError = undefined;
    servers = Array.from({ length: count }, () => newServer());
    const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
    return urls;
  }

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop().catch(() => {})));
    clients = [];
    await front?.close();
    front = undefined;
    await proxy?.close();
    await Promise.all(servers.map((server) => server.close()));
    await slowNetwork?.close();
    slowNetwork = undefined;
    maximumConnections = undefined;
    maximumConnectionsPerUser = null;
  });

  /**
   * Two servers, and a client connected through the proxy: negotiated on server 0, its WebSocket
   * on server 1 (round robin), which holds it. Returns the client and its connection id.
   */
  async function heldByServer1(connect: (url: string) => Promise<Client>): Promise<{ client: Client; id: string }> {
    await startCluster(2);
    const client = await connect(`${proxy!.url}/moves`);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1 && servers[0]!.connectionCount === 0, "server 1 to hold the connection");
    return { client, id };
  }

  /** A stateful hubwire client (user ada) of the server or proxy at `url`, through `front`. */
  async function clientBehindFront(url: string): Promise<{ client: Client; id: string }> {
    front = await startTcpProxy(Number(new URL(url).port));
    const client = await hubwireClient(`${front.url}/moves`, "ada", false);
    clients.push(client);
    return { client, id: await client.invoke<string>("Id") };
  }

  /** Cuts the client behind `front` off, its reconnects refused until `front.refuse(false)`; resolves once `holder` has seen the drop. */
  async function cutOff(holder: HubServer, id: string): Promise<void> {
    front!.refuse(true);
    front!.cut();
    const held = [...holder.hubRuntimeAt("/moves")!.sessions.keys()].find((connection) => connection.connectionId === id)!;
    await waitFor(() => held.state === "suspended", "the server to see the drop");
  }

  /**
   * A client's WebSocket drops while both servers send to it on every target, and comes back
   * through the server that does not hold it: the connection moves there with its id, user and
   * group, and every message arrives once, in order.
   */
  async function dropAndComeBack(connect: (url: string) => Promise<Client>): Promise<void> {
    const { client, id } = await heldByServer1(connect);
    await client.invoke("Join", "room");

    // Both servers send on every target while the socket drops and the client comes back
    // through server 0 (the next in turn), which takes the connection over from server 1.
    const hubs = servers.map((server) => server.hubContext(MovesHub));
    const sent = new Map<string, number>();
    let sending = true;
    const senders = hubs.map(async (hub, origin) => {
      for (let n = 1; sending; n++) {
        await Promise.all([
          hub.clients.all.message(`all from ${origin}`, n),
          hub.clients.group("room").message(`group from ${origin}`, n),
          hub.clients.user("ada").message(`user from ${origin}`, n),
          hub.clients.client(id).message(`connection from ${origin}`, n),
        ]);
        for (const target of ["all", "group", "user", "connection"]) sent.set(`${target} from ${origin}`, n);
        await new Promise((resolve) => setTimeout(resolve, steadySendPauseMs));
      }
    });
    await waitFor(() => client.received.last("all from 1") >= 20, "messages before the drop");
    proxy!.cutWebSockets();
    await waitFor(() => servers[0]!.connectionCount === 1 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    const arrived = client.received.last("all from 0");
    await waitFor(() => client.received.last("all from 0") >= arrived + 20, "messages after the move");
    sending = false;
    await Promise.all(senders);
    await waitFor(
      () => [...sent].every(([stream, n]) => client.received.last(stream) >= n),
      () => `every message sent to arrive (${client.received.behind(sent)})`,
    );

    for (const [stream, n] of sent) expect({ stream, ...client.received.faults(stream, n) }).toEqual({ stream, lost: 0, duplicated: 0, outOfOrder: 0 });
    expect(await client.invoke("Id")).toBe(id);
    expect(await client.invoke("Whoami")).toBe("ada");
    expect(client.restarts()).toBe(0);
    expect(lives).toEqual({ connected: 1, disconnected: 0 });
    // Still in its group, on the server it moved to.
    await servers[0]!.hubContext(MovesHub).clients.group("room").message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a group send after the move");
  }

  it.each([
    ["the official client, JSON", (url: string) => officialClient(url, "ada", false)],
    ["the official client, MessagePack", (url: string) => officialClient(url, "ada", true)],
    ["hubwire's client, JSON", (url: string) => hubwireClient(url, "ada", false)],
    ["hubwire's client, MessagePack", (url: string) => hubwireClient(url, "ada", true)],
  ])("a dropped WebSocket that comes back through another server moves there: same id, user and groups, nothing lost or doubled (%s)", async (_name, connect) => {
    await dropAndComeBack(connect);
  });

  it("moves it to a server that holds its maximumConnections already: its client is one the cluster holds, not a new one", async () => {
    maximumConnections = 1;
    const urls = await startCluster(2);
    const client = await hubwireClient(`${proxy!.url}/moves`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1 && servers[0]!.connectionCount === 0, "server 1 to hold the connection");
    const other = await hubwireClient(`${urls[0]}/moves`, "bob", false);
    clients.push(other);
    expect((await fetch(`${urls[0]}/moves/negotiate?negotiateVersion=1`, { method: "POST" })).status).toBe(503); // server 0 is full

    proxy!.cutWebSockets();
    await waitFor(() => servers[0]!.connectionCount === 2 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    expect(await other.invoke("Whoami")).toBe("bob");
  });

  it("moves it to a server where its user has maximumConnectionsPerUser already, and counts it there", async () => {
    maximumConnectionsPerUser = 1;
    const urls = await startCluster(2);
    const client = await hubwireClient(`${proxy!.url}/moves`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1 && servers[0]!.connectionCount === 0, "server 1 to hold the connection");
    const onServer0 = await hubwireClient(`${urls[0]}/moves`, "ada", false);
    clients.push(onServer0);

    proxy!.cutWebSockets();
    await waitFor(() => servers[0]!.connectionCount === 2 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    // Both count on server 0 now, and the moved one alone holds the bound: ada's next connection
    // there is refused until it ends too.
    const refusal = "Too many connections for this user.";
    await expect(hubwireClient(`${urls[0]}/moves`, "ada", false)).rejects.toThrow(refusal);
    await onServer0.stop();
    await expect(hubwireClient(`${urls[0]}/moves`, "ada", false)).rejects.toThrow(refusal);
    await client.stop();
    // Its hub session forgotten, its user's count is down: both happen at once.
    await waitFor(() => servers[0]!.hubRuntimeAt("/moves")!.sessions.size === 0, "server 0 to end the moved connection");
    const next = await hubwireClient(`${urls[0]}/moves`, "ada", false);
    clients.push(next);
    expect(await next.invoke("Whoami")).toBe("ada");
  });

  it("moves it as well when Redis is slow and uneven: a third of its packets held up to 20 ms", async () => {
    slowNetwork = await slowRedis(20);
    await dropAndComeBack((url) => hubwireClient(url, "ada", true));
  });

  it("ends a connection sent more than its stateful buffer holds while it moves: the move fails, and it cannot resume where it was", async () => {
    const { client, id } = await heldByServer1((url) => hubwireClient(url, "ada", false));

    // Server 1 sends it more than its buffer holds once server 0 is ready for it, before it lets go.
    whenLettingGo(servers[1]!, "/moves", "before", () => void servers[1]!.hubContext(MovesHub).clients.client(id).message("x".repeat(steadySendBufferSize), 1));
    proxy!.cutWebSockets();
    await waitFor(() => lives.disconnected === 1, "the connection to end on server 1");
    expect(lastDisconnectError).toMatchObject({ code: "ERR_STATEFUL_BUFFER_FULL" });
    expect(servers[1]!.connectionCount).toBe(0);
    // Its client starts anew, with a new id, and is served.
    await waitFor(() => client.restarts() === 1, "the client to start a new connection");
    expect(await client.invoke("Id")).not.toBe(id);
  });

  it("a connection closed by the server it moves to, as it moves, ends under its id: its client starts anew", async () => {
    const { client, id } = await heldByServer1((url) => hubwireClient(url, "ada", false));
    // The new server closes it the moment the old one lets go: the close reaches it wherever it is.
    whenLettingGo(servers[1]!, "/moves", "before", () => void servers[0]!.hubContext(MovesHub).connections.close(id, { error: "Closed as it moved." }));
    proxy!.cutWebSockets();
    await waitFor(() => lives.disconnected === 1, "the connection to end");
    await waitFor(() => client.restarts() === 1, "the client to start a new connection");
    expect(await client.invoke("Id")).not.toBe(id);
    await waitFor(() => servers.reduce((sum, server) => sum + server.connectionCount, 0) === 1, "only the new connection to be held");
  });

  it("a rolling restart of three servers under steady traffic loses, doubles and reorders nothing, for every client", async () => {
    const urls = await startCluster(3);
    const url = `${proxy!.url}/moves`;
    const { receivers, ids, sender, users } = await receiversAndSender(url, "room", clients, "/hubs");
    const traffic = new Traffic(sender, receivers, ids, "room");
    await traffic.flowing("before the restarts");
    for (let i = 0; i < servers.length; i++) {
      const held = servers[i]!.connectionCount;
      await servers[i]!.drain({ timeout: 20_000 });
      servers[i] = newServer();
      await servers[i]!.listen(Number(new URL(urls[i]!).port));
      await traffic.flowing(`after server ${i} restarted (it held ${held} connections)`);
    }
    await traffic.stop();

    expect(traffic.faults().filter((fault) => fault.lost + fault.duplicated + fault.outOfOrder > 0)).toEqual([]);
    expect(receivers.map((client) => [client.name, client.restarts()])).toEqual(receivers.map((client) => [client.name, 0]));
    expect(await Promise.all(receivers.map((client) => client.invoke("Id")))).toEqual(ids);
    expect(await Promise.all(receivers.map((client) => client.invoke("Whoami")))).toEqual(users);
    expect(lives).toEqual({ connected: 7, disconnected: 0 });
  });

  it("fails a client result awaited on the old server with ERR_CONNECTION_MOVED, and the connection goes on there", async () => {
    await startCluster(2);
    const connection = new HubConnectionBuilder()
      .withUrl(`${proxy!.url}/moves`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => "ada" })
      .withStatefulReconnect()
      .configureLogging(LogLevel.None)
      .build();
    let asked = 0;
    connection.on("answer", () => {
      asked++;
      return new Promise(() => {}); // answers only after the move, if ever
    });
    await connection.start();
    clients.push({ stop: () => connection.stop() } as Client);
    const id = await connection.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");

    const outcome = servers[1]!.hubContext(MovesHub).clients.client(id).invoke("answer").then(
      () => "answered",
      (error: { code?: string }) => error.code,
    );
    await waitFor(() => asked === 1, "the client to be asked");
    proxy!.cutWebSockets();
    expect(await outcome).toBe("ERR_CONNECTION_MOVED");
    await waitFor(() => servers[0]!.connectionCount === 1 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    expect(await connection.invoke("Id")).toBe(id);
  });

  it("moves its items with string keys and plain data, and logs the keys of those that stay behind", async () => {
    channelPrefix = `moves-${randomUUID()}`;
    const left: unknown[] = [];
    const record = (message: string, fields?: Record<string, unknown>) => {
      if (message.startsWith("Items")) left.push(fields?.keys);
    };
    const logger: Logger = { level: "warn", debug: () => {}, info: () => {}, warn: record, error: record };
    servers = [newServer(logger), newServer(logger)];
    const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
    const connection = new HubConnectionBuilder()
      .withUrl(`${proxy.url}/moves`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => "ada" })
      .withStatefulReconnect()
      .configureLogging(LogLevel.None)
      .build();
    await connection.start();
    clients.push({ stop: () => connection.stop() } as Client);
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    await connection.invoke("Remember");

    proxy.cutWebSockets();
    await waitFor(() => servers[0]!.connectionCount === 1 && servers[1]!.connectionCount === 0, "the connection to move to server 0");
    // The bytes are bytes still: JSON writes a byte array as base64.
    expect(await connection.invoke("Recall")).toEqual({
      count: 3,
      profile: { name: "ada", tags: ["a", "b"], avatar: "AQI=", nothing: null },
      seen: false,
      local: false,
    });
    expect(left).toEqual([["seen", "Symbol(local)"]]);
  });

  it("moves a connection whose client is away when its server drains, once the client comes back through another server", async () => {
    await startCluster(2);
    // The client reaches the round-robin proxy through `front`.
    const { client, id } = await clientBehindFront(proxy!.url);
    await client.invoke("Join", "room");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    await cutOff(servers[1]!, id);

    // Server 1 stops listening: the client's next attempt (1 s after its first) reaches server 0.
    const drained = servers[1]!.drain({ timeout: 20_000 });
    front!.refuse(false);
    await drained;
    expect(servers.map((server) => server.connectionCount)).toEqual([1, 0]);
    expect(await client.invoke("Id")).toBe(id);
    expect(client.restarts()).toBe(0);
    await servers[0]!.hubContext(MovesHub).clients.group("room").message("after", 1);
    await waitFor(() => client.received.last("after") === 1, "a group send after the move");
  });

  it("logs a drain, and one that times out says how many connections it leaves to close", async () => {
    channelPrefix = `moves-${randomUUID()}`;
    const lines: string[] = [];
    // The drain's own lines (a shared Redis may have the servers log about it too).
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      if (message.startsWith("Drain")) lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    };
    const logger: Logger = { level: "info", debug: () => {}, info: record("info"), warn: record("warn"), error: record("error") };
    servers = [newServer(logger), newServer(logger)];
    const { url } = (await Promise.all(servers.map((server) => server.listen())))[0]!;
    // A stateful client whose reconnects never get through: its connection waits past the drain.
    const { id } = await clientBehindFront(url);
    await cutOff(servers[0]!, id);
    await servers[0]!.drain({ timeout: 300 });
    expect(lines).toEqual([
      `info Draining: stateful connections move to other servers, the others are told to reconnect {"connections":1,"timeout":300}`,
      `warn Drain timed out: the connections left are closed, and their clients start anew {"connections":1,"timeout":300}`,
    ]);
    lines.length = 0;
    await servers[1]!.drain();
    expect(lines).toEqual([`info Draining: stateful connections move to other servers, the others are told to reconnect {"connections":0,"timeout":30000}`, "info Drained: every connection moved or ended {}"]);
  });

  it("tells connections without stateful reconnect to reconnect when their server drains: they start anew on another", async () => {
    await startCluster(2);
    const connection = new HubConnectionBuilder()
      .withUrl(`${proxy!.url}/moves`, { transport: HttpTransportType.LongPolling, accessTokenFactory: () => "ada" })
      .withAutomaticReconnect([0, 100, 200, 500])
      .configureLogging(LogLevel.None)
      .build();
    const reconnected = new Promise<string | undefined>((resolve) => connection.onreconnected(resolve));
    await connection.start();
    clients.push({ stop: () => connection.stop() } as Client);
    const id = await connection.invoke<string>("Id");
    const holder = servers.findIndex((server) => server.connectionCount === 1);
    await servers[holder]!.drain({ timeout: 10_000 });
    const newId = await reconnected;
    expect(newId).not.toBe(id);
    expect(await connection.invoke("Id")).toBe(newId);
    expect(servers[1 - holder]!.connectionCount).toBe(1);
  });

  it("drains a server without a backplane as close() closes it", async () => {
    const server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true });
    server.mapHub("/moves", MovesHub);
    servers = [server];
    const { url } = await server.listen();
    const client = await hubwireClient(`${url}/moves`, "ada", false);
    clients.push(client);
    await server.drain();
    expect(server.connectionCount).toBe(0);
    await expect(server.listen()).rejects.toThrow("The server is closed.");
  });

  it("lets a call running on the old server finish there, and its result reaches the client on the new one", async () => {
    const { client, id } = await heldByServer1((url) => officialClient(url, "ada", false));
    const before = slowCalls;
    const running = client.invoke<string>("Slow", 300);
    await waitFor(() => slowCalls === before + 1, "the call to start on server 1");
    proxy!.cutWebSockets();
    expect(await running).toBe("done");
    expect(servers.map((server) => server.connectionCount)).toEqual([1, 0]);
    expect(await client.invoke("Id")).toBe(id);
  });
});
