import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type Logger, type ScaleOutSettings } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { officialClient, type StreamClient } from "../support/stream-clients.js";
import { waitFor } from "../support/wait.js";

@HubClass()
class PresenceFaultsHub extends Hub {
  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }
}

/** The bearer token is the user's name. */
function userOf(_request: unknown, bearer: string | undefined): unknown {
  return bearer ? { sub: bearer } : null;
}

/** Presence as tests shorten it. */
const timings = { heartbeatInterval: 100, serverTimeout: 1_000 };

/** Warnings logged, by message. */
class Warnings implements Logger {
  readonly messages: string[] = [];
  readonly level = "warn" as const;
  debug(): void {}
  info(): void {}
  warn(message: string): void {
    this.messages.push(message);
  }
  error(): void {}
}

const serverGone = "A server of this hub stopped announcing itself; it counts as gone";

/** Blocks the event loop until `until` (ms since the epoch), as a long synchronous task or a GC pause does. */
function stallUntil(until: number): void {
  while (Date.now() < until) {
    // busy: nothing else runs, and what arrives meanwhile waits unread
  }
}

describe("presence under faults", () => {
  let servers: HubServer[] = [];
  let proxy: RoundRobinProxy | undefined;
  let clients: StreamClient[] = [];
  let warnings: Warnings[] = [];

  async function startCluster(count: number, scaleOut: ScaleOutSettings): Promise<void> {
    // A channel prefix of this test's own: other tests and runs may share the Redis.
    const channelPrefix = `presence-faults-${randomUUID()}`;
    warnings = [];
    servers = Array.from({ length: count }, () => {
      const logger = new Warnings();
      warnings.push(logger);
      const backplane = new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger });
      const server = new HubServer({ logger, allowStatefulReconnects: true, backplane, scaleOut });
      server.mapHub("/faults", PresenceFaultsHub, { authenticate: userOf });
      return server;
    });
    const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
    proxy = await startRoundRobinProxy(urls);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const managerOf = (index: number): any => servers[index]!["scaleOut"]!["managers"][0]!;

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop().catch(() => {})));
    clients = [];
    await proxy?.close();
    proxy = undefined;
    await Promise.all(servers.map((server) => server.close().catch(() => {})));
    servers = [];
  });

  it("a server whose event loop stalled less than serverTimeout does not judge a live peer whose heartbeats wait unread", async () => {
    await startCluster(2, { ...timings, recovery: true });
    // Negotiated on server 0, its WebSocket on server 1 (round robin): server 1 holds it, server 0 is its standby.
    const client = await officialClient(`${proxy!.url}/faults`, "ada", false);
    clients.push(client);
    const id = await client.invoke<string>("Id");
    await waitFor(() => servers[1]!.connectionCount === 1, "server 1 to hold the connection");
    const standby = managerOf(0);
    const holderId: string = managerOf(1)["serverId"];
    const recovery = standby["recovery"];
    await waitFor(() => (recovery["kept"].get(id)?.checkpointsSince ?? 0) >= 2, "server 0 to be able to recover the connection");

    // Server 0's event loop stalls just under serverTimeout right after it heard its own
    // heartbeat, some time after it last heard server 1's: server 1's heartbeats of the stall
    // wait, unread, in the socket, while its own last one is still within serverTimeout (it
    // counts as hearing itself), and its presence timer, overdue, runs before they are read.
    const presence = standby["presence"];
    // Servers in one process start their heartbeats together; separate processes beat out of
    // step. Server 1 beats half an interval after each heartbeat server 0 hears of its own:
    // running free, the two timers could fall into step again after a slow spell of a loaded
    // machine, and the moment looked for below would not come.
    const holderPresence = managerOf(1)["presence"];
    clearInterval(holderPresence["timer"]);
    const heard: (serverId: string, listening: boolean, sentAt?: number) => void = presence["heard"].bind(presence);
    const ownId: string = standby["serverId"];
    let stalled: { from: number; until: number } | undefined;
    presence["heard"] = (serverId: string, listening: boolean, sentAt?: number) => {
      heard(serverId, listening, sentAt);
      if (serverId === ownId) setTimeout(() => holderPresence["stopped"] || holderPresence["tick"](), timings.heartbeatInterval / 2).unref();
      const peer = presence["peers"].get(holderId);
      if (stalled || serverId !== ownId || !peer || !presence["up"] || Date.now() - peer.heardAt < 20) return;
      stalled = { from: Date.now(), until: peer.heardAt + timings.serverTimeout + 5 };
      stallUntil(stalled.until);
    };
    await waitFor(() => stalled !== undefined, "a stall of server 0's event loop", 30_000);
    // Server 0 hears itself (and so everything server 1 published until then) well past the stall.
    await waitFor(() => presence["lastOwnHeartbeat"] > stalled!.until + timings.serverTimeout, "server 0 to hear itself again, for a serverTimeout");

    expect(stalled!.until - stalled!.from).toBeLessThan(timings.serverTimeout);
    // Not taken over: the connection is held once, by server 1.
    expect(servers[0]!.scaleOutStats(PresenceFaultsHub)?.recovery).toMatchObject({ recovered: 0, lost: 0, kept: 1 });
    expect(servers[0]!.connectionCount).toBe(0);
    expect(warnings[0]!.messages).not.toContain(serverGone);
    expect(presence.hasDied(holderId)).toBe(false);
    expect(await client.invoke("Id")).toBe(id);
  }, 60_000);
});
