import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { expect } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type LogFields, type Logger, type ScaleOutSettings } from "../../src/index.js";
import { lifetimeLog } from "../../src/lifetime/lifetime-log.js";
import { RedisBackplane } from "../../src/redis/index.js";
import type { OwnRedisCluster } from "./redis-cluster.js";
import { waitFor } from "./wait.js";

/*
 * The hub, servers and clients the tests of Redis deployments share (a Redis Cluster, Redis with
 * Sentinel): servers of ChatHub on a test's own Redis, official clients that record what they
 * receive, and the count of what was lost.
 */

export interface ChatClient {
  message(text: string): void;
  tick(n: number): void;
  answer(question: string): Promise<string>;
}

/** What a call that needs another server ended with: its value, or its error's code. */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  try {
    return await call;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

@HubClass({ name: "ChatHub" })
export class ChatHub extends Hub<ChatClient> {
  @HubMethod("Broadcast")
  broadcast(text: string): Promise<void> {
    return this.clients.all.message(text);
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("AddToGroup")
  addToGroup(connectionId: string, group: string): Promise<unknown> {
    return outcome(this.groups.addToGroup(connectionId, group).then(() => "added"));
  }

  @HubMethod("SendToGroup")
  sendToGroup(group: string, text: string): Promise<void> {
    return this.clients.group(group).message(text);
  }

  @HubMethod("SendToUser")
  sendToUser(user: string, text: string): Promise<void> {
    return this.clients.user(user).message(text);
  }

  @HubMethod("SendToConnection")
  sendToConnection(connectionId: string, text: string): Promise<void> {
    return this.clients.client(connectionId).message(text);
  }

  @HubMethod("TickGroup")
  tickGroup(group: string, n: number): Promise<void> {
    return this.clients.group(group).tick(n);
  }

  @HubMethod("TickConnection")
  tickConnection(connectionId: string, n: number): Promise<void> {
    return this.clients.client(connectionId).tick(n);
  }

  @HubMethod("Ask")
  ask(connectionId: string, question: string): Promise<unknown> {
    return outcome(this.clients.client(connectionId).invoke("answer", question));
  }
}

export interface Client {
  connection: HubConnection;
  id: string;
  received: string[];
  ticks: number[];
}

/** Ticks a client received, and how they arrived: each number once. */
export function tally(ticks: number[], upTo: number, sign = 1) {
  const seen = new Set(ticks.filter((n) => Math.sign(n) === sign));
  let lost = 0;
  for (let n = 1; n <= upTo; n++) if (!seen.has(sign * n)) lost++;
  return { lost, duplicated: ticks.filter((n) => Math.sign(n) === sign).length - seen.size };
}

type LogLevelName = "debug" | "info" | "warn" | "error";
const replayDebugLines = new Set([lifetimeLog.linkDropped.message, lifetimeLog.replayAsked.message]);

/**
 * Where ticks were lost, for the message of a failed check: the runs of missing numbers with
 * when they were sent, and what the servers logged, each in ms from the fault's start.
 */
function lossReport(ticks: number[], sentAt: number[], at: { faultStarted: number; faultEnded: number; replayed: number; timeline: string[] }): string {
  const seen = new Set(ticks);
  const runs: string[] = [];
  for (let n = 1; n <= sentAt.length; n++) {
    if (seen.has(n)) continue;
    let last = n;
    while (last < sentAt.length && !seen.has(last + 1)) last++;
    runs.push(`${n}-${last} sent at ${sentAt[n - 1]! - at.faultStarted}..${sentAt[last - 1]! - at.faultStarted} ms`);
    n = last;
  }
  const logged = at.timeline.map((line) => line.replace(/^\d+/, (time) => `${Number(time) - at.faultStarted} ms`));
  return [`lost: ${runs.join(", ")}`, `fault ended at ${at.faultEnded - at.faultStarted} ms; server B replayed ${at.replayed}`, ...logged].join("\n");
}

/** A logger that keeps what the backplane reports. */
export function recordingLogger(): Logger & { lines: Array<{ message: string; fields?: LogFields }> } {
  const lines: Array<{ message: string; fields?: LogFields }> = [];
  const keep = (message: string, fields?: LogFields) => void lines.push({ message, fields });
  return { lines, level: "info", debug: () => {}, info: keep, warn: keep, error: keep };
}

export const channelOf = (kind: string, name: string) => `hubwire:ChatHub:${kind}:${name}`;

/**
 * Scale-out settings for ticksThroughFault: presence quick to notice, and byte bounds no fault
 * here comes near. Ticks go out as fast as calls return (some 10,000 a second, about 190 bytes
 * each on the backplane), so a fault of a few seconds, longer on a loaded host, would otherwise
 * fill the default 16 MB and drop the oldest; what the bounds drop is tested in outbox.test.ts.
 */
export const faultSettings = { heartbeatInterval: 100, serverTimeout: 3_000, outboxMaxBytes: 64 * 1024 * 1024 };

/** Where a backplane reaches each Redis node (a proxy of the test's, say), by the node's own address. */
export type NatMap = Record<string, { host: string; port: number }>;

/** A Redis Cluster of the test's own, with sharded pub/sub, for chatServers. */
export const onCluster = (cluster: () => OwnRedisCluster) => (logger: Logger, natMap?: NatMap) =>
  new RedisBackplane({ cluster: { nodes: cluster().startupNodes, options: natMap && { natMap } }, logger });

/**
 * hubwire servers of ChatHub, each with its own backplane from `backplane` (see onCluster), and
 * official clients on them; `close` ends them all.
 */
export function chatServers(backplane: (logger: Logger, natMap?: NatMap) => RedisBackplane) {
  const servers: HubServer[] = [];
  /** Each server's backplane, by the server's index. */
  const backplanes: RedisBackplane[] = [];
  const clients: HubConnection[] = [];
  /** What every server and its backplane logged, debug lines too, with when: shown with a loss. */
  const timeline: string[] = [];

  /** A logger for server `index` that writes to `into` and to the timeline (of debug lines, the backplane's replays alone). */
  function logged(index: number, into: Logger): Logger {
    const line = (level: keyof Logger & LogLevelName) => (message: string, fields?: LogFields) => {
      if (level === "debug" && !replayDebugLines.has(message)) return;
      timeline.push(`${Date.now()} server ${index} ${level}: ${message} ${JSON.stringify(fields ?? {})}`);
      if (level !== "debug") into[level](message, fields);
    };
    return { level: "debug", debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  }

  /** `logger`: the backplane's. */
  async function startServer(scaleOut?: ScaleOutSettings, logger: Logger = silentLogger, natMap?: NatMap): Promise<string> {
    const index = servers.length;
    const own = backplane(logged(index, logger), natMap);
    backplanes.push(own);
    const server = new HubServer({
      logger: logged(index, silentLogger),
      backplane: own,
      userIdProvider: (_user, request) => request.query.get("user") ?? undefined,
      scaleOut,
    });
    server.mapHub("/chat", ChatHub);
    servers.push(server);
    return (await server.listen()).url;
  }

  async function connect(url: string, user: string, messagePack = false): Promise<Client> {
    const builder = new HubConnectionBuilder()
      .withUrl(`${url}/chat?user=${user}`, { transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None);
    const connection = (messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
    const client: Client = { connection, id: "", received: [], ticks: [] };
    connection.on("message", (text: string) => client.received.push(text));
    connection.on("tick", (n: number) => client.ticks.push(n));
    connection.on("answer", (question: string) => `answer to ${question}`);
    await connection.start();
    clients.push(connection);
    client.id = connection.connectionId!;
    return client;
  }

  /**
   * Server A's client sends ticks to `group` one after another, before, during and after
   * `fault`, which runs once B heard some. B must get every tick once, in order, and (unless
   * `resent` is false: a fault that may cost B nothing) some of them sent again.
   */
  async function ticksThroughFault(a: Client, b: Client, group: string, fault: (sent: () => number) => Promise<void>, resent = true) {
    let sent = 0;
    let sending = true;
    /** When each tick was sent, by its number less one. */
    const sentAt: number[] = [];
    const sender = (async () => {
      while (sending) {
        sentAt.push(Date.now());
        await a.connection.invoke("TickGroup", group, ++sent);
      }
    })();
    sender.catch(() => undefined); // awaited below; a test that fails first stops the client under it
    await waitFor(() => b.ticks.includes(20), "ticks on server B before the fault");
    const faultStarted = Date.now();
    await fault(() => sent);
    const atReturn = sent;
    const faultEnded = Date.now();
    await waitFor(() => b.ticks.some((n) => n > atReturn + 20), "ticks on server B after the fault", 15_000);
    sending = false;
    await sender;
    await waitFor(() => b.ticks.includes(sent), "the last tick on server B", 15_000);
    const ticks = b.ticks.filter((n) => n > 0);
    const losses = () => lossReport(ticks, sentAt, { faultStarted, faultEnded, replayed: servers[1]!.scaleOutStats(ChatHub)!.replayed, timeline });
    expect(tally(ticks, sent), losses()).toEqual({ lost: 0, duplicated: 0 });
    expect(ticks).toEqual([...ticks].sort((x, y) => x - y));
    if (resent) expect(servers[1]!.scaleOutStats(ChatHub)!.replayed).toBeGreaterThan(0);
  }

  async function close(): Promise<void> {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.close()));
    for (const list of [clients, servers, backplanes, timeline]) list.length = 0;
  }

  return { servers, backplanes, startServer, connect, ticksThroughFault, close };
}
