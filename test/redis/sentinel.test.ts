import type { RedisOptions } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisLog } from "../../src/redis/redis-log.js";
import { chatServers, recordingLogger, faultSettings } from "../support/chat-servers.js";
import { startOwnSentinelRedis, type OwnSentinelRedis } from "../support/redis-sentinel.js";
import { waitFor } from "../support/wait.js";

/**
 * Redis with Sentinel, as many run it for high availability: a master with a replica, and
 * hubwire servers that find the master through the Sentinel (ioredis's `sentinels` option).
 * When the replica takes over, every server's connections move to it.
 */
describe("scale-out over Redis with Sentinel, across a failover", () => {
  let sentinel: OwnSentinelRedis | undefined;
  /** More ioredis options for the servers a test starts. */
  let moreOptions: RedisOptions = {};
  const chat = chatServers((logger) => new RedisBackplane({ redis: { ...sentinel!.redis, ...moreOptions }, logger }));
  const { startServer, connect, ticksThroughFault } = chat;
  const scaleOut = faultSettings;
  const group = "failover";

  afterEach(async () => {
    moreOptions = {};
    await chat.close();
    await sentinel?.stop();
    sentinel = undefined;
  });

  /** Servers A and B on the Sentinel's master, B's client in `group`; `logger`: their backplanes'. */
  async function serversOnSentinel(logger: Logger = silentLogger) {
    sentinel = await startOwnSentinelRedis();
    const urls = [await startServer(scaleOut, logger), await startServer(scaleOut, logger)];
    const [a, b] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob")];
    await b.connection.invoke("Join", group);
    return { a, b, master: await sentinel.master() };
  }

  /** Waits until both servers' subscribing connections are on the master the Sentinel names now. */
  async function onNewMaster() {
    const master = await sentinel!.master();
    const subscribers = async () => (await sentinel!.cli(master, ["CLIENT", "LIST", "TYPE", "pubsub"])).split("\n").filter((line) => line && !line.includes("name=sentinel"));
    await waitFor(async () => (await subscribers()).length === 2, "both servers to subscribe on the new master");
  }

  it("closes its connections to the Sentinel when it closes", async () => {
    sentinel = await startOwnSentinelRedis();
    const { port } = sentinel.redis.sentinels[0]!;
    const clients = async () => (await sentinel!.cli(port, ["CLIENT", "LIST"])).split("\n").filter((line) => line && !line.includes("cmd=client|list")).length;
    const before = await clients();
    const backplane = new RedisBackplane({ redis: sentinel.redis, logger: silentLogger });
    await backplane.subscribe("probe", () => {});
    await backplane.publish("probe", new Uint8Array([1]));
    // Each link subscribes to the Sentinel's failovers once it is connected.
    await waitFor(async () => (await clients()) === before + 2, "both links to watch the Sentinel's failovers");
    await backplane.close();
    await waitFor(async () => (await clients()) === before, "the backplane's connections to the Sentinel to close");
  }, 60_000);

  it.each([
    ["died (kill -9)", () => sentinel!.killMaster()],
    ["hung (SIGSTOP)", () => sentinel!.freezeMaster()],
  ])("delivers what another server sent to a group while the master %s and the replica took over, once and in order", async (_, fault) => {
    const { a, b, master } = await serversOnSentinel();
    await ticksThroughFault(a, b, group, async () => {
      await fault();
      await sentinel!.waitForMasterOtherThan(master);
    });
    await onNewMaster();
  }, 90_000);

  it("connects again a link that ioredis gave up during the failover", async () => {
    // ioredis gives a link up when its failover detector hears of the failover while the link
    // asks the Sentinel where the master is. Waiting a second before each such question keeps
    // the reconnecting links asking nearly all the time, so that the race is all but certain.
    moreOptions = { sentinelRetryStrategy: () => 1_000 };
    const log = recordingLogger();
    const { a, b, master } = await serversOnSentinel(log);
    await ticksThroughFault(a, b, group, async () => {
      await sentinel!.killMaster();
      await sentinel!.waitForMasterOtherThan(master);
    });
    expect(log.lines.map((line) => line.message)).toContain(redisLog.endedByClient.message);
  }, 90_000);

  it("delivers what another server sent to a group during a failover the Sentinel was asked for, once and in order, and moves to the new master", async () => {
    const { a, b, master } = await serversOnSentinel();
    // The old master stays up: the servers may hear each other there until they leave it.
    await ticksThroughFault(
      a,
      b,
      group,
      async () => {
        await sentinel!.failOver();
        await sentinel!.waitForMasterOtherThan(master);
      },
      false,
    );
    // Not left on the old master, a replica now: a server started since is on the new one, and
    // a publish on a replica reaches only that replica's subscribers.
    await onNewMaster();
    const c = await connect(await startServer(scaleOut), "cy");
    await c.connection.invoke("Join", group);
    await waitFor(async () => {
      await a.connection.invoke("TickGroup", group, -1);
      return c.ticks.includes(-1);
    }, "a server started after the failover to hear the others");
  }, 90_000);
});
