import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chatServers, channelOf, onCluster, faultSettings } from "../support/chat-servers.js";
import { startOwnRedisCluster, type OwnRedisCluster } from "../support/redis-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * A failover on a Redis Cluster with a replica per master: a replica takes over the slots of its
 * master, which a server subscribes to and another sends to meanwhile.
 */
describe("scale-out over a Redis Cluster whose master fails over to its replica", () => {
  let cluster: OwnRedisCluster;
  const chat = chatServers(onCluster(() => cluster));
  const { startServer, connect, ticksThroughFault } = chat;
  const scaleOut = faultSettings;
  const group = "failover";

  beforeAll(async () => {
    cluster = await startOwnRedisCluster(3, 1);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await chat.close();
    await Promise.all(cluster.nodes.map((node) => node.start())); // a master a test stopped comes back as a replica
    await cluster.waitUntilOk();
  });

  /** Servers A and B, B's client in `group`; the master of the group's slot and its replica. */
  async function serversOnShard() {
    const urls = [await startServer(scaleOut), await startServer(scaleOut)];
    const [a, b] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob")];
    await b.connection.invoke("Join", group);
    const master = await cluster.shardOf(channelOf("group", group));
    const [replica] = await cluster.replicasOf(master);
    return { a, b, master, replica: replica! };
  }

  it("delivers what another server sent to the group during a manual failover, once and in order", async () => {
    const { a, b, replica } = await serversOnShard();
    await ticksThroughFault(a, b, group, async () => {
      await cluster.cli(cluster.nodes[replica]!.port, ["CLUSTER", "FAILOVER"]);
      await waitFor(async () => (await cluster.shardOf(channelOf("group", group))) === replica, "the replica to take over the group's slot", 30_000);
    });
  }, 90_000);

  it("delivers what another server sent to the group while its master died and its replica took over, once and in order", async () => {
    const { a, b, master, replica } = await serversOnShard();
    await ticksThroughFault(a, b, group, async () => {
      await cluster.nodes[master]!.stop();
      await waitFor(async () => (await cluster.shardOf(channelOf("group", group)).catch(() => -1)) === replica, "the replica to take over the group's slot", 30_000);
    });
    expect(await cluster.shardOf(channelOf("group", group))).toBe(replica);
  }, 90_000);

  it("delivers what another server sent to the group while its master hung (SIGSTOP) and its replica took over, once and in order", async () => {
    const { a, b, master, replica } = await serversOnShard();
    try {
      await ticksThroughFault(
        a,
        b,
        group,
        async () => {
          cluster.nodes[master]!.freeze();
          await waitFor(async () => (await cluster.shardOf(channelOf("group", group)).catch(() => -1)) === replica, "the replica to take over the group's slot", 30_000);
        },
        // Server A's sends wait in its outbox while the shard hangs, and may reach the new
        // master only once B subscribed there: B may miss nothing.
        false,
      );
    } finally {
      cluster.nodes[master]!.thaw(); // it comes back as a replica
    }
  }, 90_000);
});
