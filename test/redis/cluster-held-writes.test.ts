import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { RedisBackplane } from "../../src/redis/index.js";
import { chatServers, channelOf, faultSettings } from "../support/chat-servers.js";
import { startOwnRedisCluster, type OwnRedisCluster } from "../support/redis-cluster.js";

/**
 * A shard that holds its writes (CLIENT PAUSE WRITE, as a master does during a manual failover)
 * while the others go on: what a server sent there waits, and its heartbeats, on another shard,
 * get through meanwhile. Then the shard hands the slot on before it takes the held sends, which
 * follow MOVED to a shard where the receiving server is not subscribed yet.
 */
describe("scale-out over a Redis Cluster whose shard held its writes, then handed the slot on", () => {
  let cluster: OwnRedisCluster;
  const publishTimeout = 500;
  const chat = chatServers((logger) => new RedisBackplane({ cluster: { nodes: cluster.startupNodes }, logger, publishTimeout }));
  const { backplanes, startServer, connect, ticksThroughFault } = chat;

  beforeAll(async () => {
    cluster = await startOwnRedisCluster(3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await chat.close();
  });

  it("delivers what another server sent while the shard held it, once and in order", async () => {
    // The heartbeats' channel on one shard, the group's on another, the slot moved to the third.
    const presence = await cluster.shardOf("hubwire:ChatHub:presence");
    let group = "";
    for (let i = 0; !group; i++) if ((await cluster.shardOf(channelOf("group", `g${i}`))) !== presence) group = `g${i}`;
    const source = await cluster.shardOf(channelOf("group", group));
    const target = [0, 1, 2].find((shard) => shard !== source && shard !== presence)!;
    const scaleOut = faultSettings;
    const urls = [await startServer(scaleOut), await startServer(scaleOut)];
    const [a, b] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob")];
    await b.connection.invoke("Join", group);
    // Only B's reads of the slot map, every publishTimeout, find the move: B subscribes on the
    // new owner after the held sends landed there.
    (backplanes[1] as unknown as { subscriber: { removeAllListeners(event: string): void } }).subscriber.removeAllListeners("nodeError");
    const port = cluster.nodes[source]!.port;
    try {
      await ticksThroughFault(a, b, group, async () => {
        // Held for several reads of the slot map, each finding the slot still in place.
        await cluster.cli(port, ["CLIENT", "PAUSE", String(10 * publishTimeout), "WRITE"]);
        await new Promise((resolve) => setTimeout(resolve, 4 * publishTimeout));
        await cluster.moveSlotOf(channelOf("group", group), target);
        await cluster.cli(port, ["CLIENT", "UNPAUSE"]);
      });
    } finally {
      await cluster.cli(port, ["CLIENT", "UNPAUSE"]);
      await cluster.moveSlotOf(channelOf("group", group), source);
    }
  }, 90_000);
});
