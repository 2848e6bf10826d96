import type { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger, type LogFields, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { subscribedSlots } from "../../src/redis/ioredis-internals.js";
import { startOwnRedisCluster, type OwnRedisCluster } from "../support/redis-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * A server leaves or joins a channel while the channel's shard, or the whole cluster, is out of
 * reach: once it is back, the shard holds exactly the channels the server still needs. A channel
 * left there for good with no handler would make the shard count this server as a receiver of a
 * connection or group it no longer has; a channel joined but never subscribed would lose what is
 * sent to it.
 */
describe("RedisBackplane on a Redis Cluster across an outage", () => {
  const shard = 1;
  let cluster: OwnRedisCluster;
  /** Channel names (without the prefix) on `shard`: kept, left, joined, and a last one to probe with. */
  let names: string[] = [];
  let backplanes: RedisBackplane[] = [];
  beforeAll(async () => {
    cluster = await startOwnRedisCluster(3);
    for (let i = 0; names.length < 4; i++) if ((await cluster.shardOf(`outage:c${i}`)) === shard) names.push(`c${i}`);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await Promise.all(backplanes.map((backplane) => backplane.close()));
    backplanes = [];
    await Promise.all(cluster.nodes.map((node) => node.start())); // a node a test stopped runs again
    await cluster.waitUntilOk();
  });

  /** How many subscribers the channel's shard reaches with an SPUBLISH (none while it is down). */
  async function receivers(name: string): Promise<number> {
    return Number(await cluster.cli(cluster.nodes[shard]!.port, ["SPUBLISH", `outage:${name}`, "x"]).catch(() => 0));
  }

  /** A backplane subscribed to `kept` and `left`, on `shard`. */
  async function start(logger: Logger = silentLogger) {
    const backplane = new RedisBackplane({ cluster: { nodes: cluster.startupNodes }, channelPrefix: "outage", logger, publishTimeout: 1_000 });
    backplanes.push(backplane);
    const [kept, left, joined, probe] = names as [string, string, string, string];
    await backplane.subscribe(kept, () => {});
    await backplane.subscribe(left, () => {});
    expect([await receivers(kept), await receivers(left)]).toEqual([1, 1]);
    const status = () => (backplane as unknown as { subscriber: { status: string } }).subscriber.status;
    /**
     * Waits until the backplane is back with `kept` on the shard, then subscribes `probe` there:
     * Redis answers it after whatever the backplane and ioredis sent that shard's connection before.
     */
    const back = async () => {
      let keptReceivers = 0;
      await waitFor(
        async () => status() === "ready" && (keptReceivers = await receivers(kept)) === 1,
        () => {
          const { remaking, unconfirmed } = backplane as unknown as { remaking: Set<string>; unconfirmed: Set<string> };
          return `the backplane to be back with its channels (subscriber ${status()}, the kept channel's receivers ${keptReceivers}, shards being remade ${[...remaking].join(" ")}, unconfirmed ${[...unconfirmed].join(" ")})`;
        },
        30_000,
      );
      await backplane.subscribe(probe, () => {});
    };
    return { backplane, kept, left, joined, status, back };
  }

  it("does not subscribe again a channel left while its shard was down", async () => {
    const { backplane, left, back } = await start();
    await cluster.nodes[shard]!.stop();
    // The SUNSUBSCRIBE fails (after publishTimeout): ioredis dropped the channel from those it
    // remakes when it sent it all the same.
    const leaving = backplane.unsubscribe(left).catch(() => undefined);
    await cluster.nodes[shard]!.start();
    await leaving;
    await back();
    expect(await receivers(left)).toBe(0);
  }, 60_000);

  it("does not subscribe again a channel left while the whole cluster was out of reach", async () => {
    const { backplane, left, status, back } = await start();
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await waitFor(() => status() !== "ready", "the subscriber to see the cluster gone", 30_000);
    await backplane.unsubscribe(left);
    await Promise.all(cluster.nodes.map((node) => node.start()));
    await back();
    expect(await receivers(left)).toBe(0);
  }, 60_000);

  it("subscribes a channel joined while its shard was down once the shard is back", async () => {
    const { backplane, joined, back } = await start();
    await cluster.nodes[shard]!.stop();
    await backplane.subscribe(joined, () => {}).catch(() => undefined);
    await cluster.nodes[shard]!.start();
    await back();
    await waitFor(async () => (await receivers(joined)) === 1, "the joined channel to be subscribed", 30_000);
  }, 60_000);

  it("subscribes again a channel whose shard refused it when ioredis remade the shard's subscriber", async () => {
    const { kept, back } = await start();
    const { port } = cluster.nodes[shard]!;
    // As a just restarted shard does for a while (CLUSTERDOWN), the shard refuses SSUBSCRIBE when
    // ioredis remakes its subscriber: ioredis drops that failure without a word.
    await cluster.cli(port, ["ACL", "SETUSER", "default", "-ssubscribe"]);
    try {
      await cluster.cli(port, ["ACL", "LOG", "RESET"]);
      await cluster.cli(port, ["CLIENT", "KILL", "TYPE", "pubsub"]);
      await waitFor(async () => (await cluster.cli(port, ["ACL", "LOG"])).includes("ssubscribe"), "ioredis to remake the shard's subscriber, and the shard to refuse it");
      expect(await receivers(kept)).toBe(0);
    } finally {
      await cluster.cli(port, ["ACL", "SETUSER", "default", "+ssubscribe"]);
    }
    await back();
  }, 60_000);

  it("subscribes again every channel when the cluster client reconnected as a whole, a shard refusing what ioredis remade", async () => {
    const { backplane, kept, back } = await start();
    const links: string[] = [];
    backplane.watchLinks({ dropped: (drop) => links.push(`dropped ${JSON.stringify({ partial: drop.partial, unordered: drop.unordered })}`), restored: () => links.push("restored") });
    const { port } = cluster.nodes[shard]!;
    await cluster.cli(port, ["ACL", "SETUSER", "default", "-ssubscribe"]);
    try {
      await cluster.cli(port, ["ACL", "LOG", "RESET"]);
      // What ioredis does itself when no node answers it (ClusterAllFailedError): every shard's
      // subscriber ends, with no `-node` for any, and all are made again once it reconnects.
      (backplane as unknown as { subscriber: { disconnect(reconnect: boolean): void } }).subscriber.disconnect(true);
      await waitFor(async () => (await cluster.cli(port, ["ACL", "LOG"])).includes("ssubscribe"), "the cluster client to remake the shard's subscriber, and the shard to refuse it");
      expect(await receivers(kept)).toBe(0);
    } finally {
      await cluster.cli(port, ["ACL", "SETUSER", "default", "+ssubscribe"]);
    }
    await back();
    await waitFor(() => links.includes("restored"), "the links to be told back");
    expect(links).toEqual(['dropped {"partial":false,"unordered":true}', "restored"]);
  }, 60_000);

  it("keeps one entry per channel in ioredis's record of them, however often the shard subscribers are made again", async () => {
    const { backplane, kept } = await start();
    const record = () => [...subscribedSlots((backplane as unknown as { subscriber: Cluster }).subscriber)!.values()].flat();
    let restored = 0;
    backplane.watchLinks({ dropped: () => {}, restored: () => restored++ });
    const { port } = cluster.nodes[shard]!;
    for (let remade = 1; remade <= 3; remade++) {
      await cluster.cli(port, ["CLIENT", "KILL", "TYPE", "pubsub"]);
      // Back once every channel is subscribed again (the record is tidied before that is told).
      await waitFor(async () => restored === remade && (await receivers(kept)) === 1, "the shard's subscriber to be made again with its channels", 30_000);
    }
    expect(record().length).toBe(new Set(record()).size);
    expect(record()).toContain(`outage:${kept}`);
  }, 60_000);

  it("reports a shard's outage once, and its end once, however long ioredis retries", async () => {
    const lines: Array<{ message: string; fields?: LogFields }> = [];
    const keep = (message: string, fields?: LogFields) => void lines.push({ message, fields });
    const { backplane, back } = await start({ level: "info", debug: () => {}, info: keep, warn: keep, error: keep });
    const node = `127.0.0.1:${cluster.nodes[shard]!.port}`;
    const subscriberLines = () => lines.filter((line) => line.fields?.role === "subscriber" && line.fields.node === node).map((line) => line.message);
    // ioredis's attempts to remake its shard subscribers, each ending with this event, failed or not.
    let attempts = 0;
    (backplane as unknown as { subscriber: { on(event: string, listener: () => void): void } }).subscriber.on("subscribersReady", () => attempts++);
    await cluster.nodes[shard]!.stop();
    await waitFor(() => subscriberLines().length > 0, "the shard's outage to be reported", 30_000);
    const before = attempts;
    await waitFor(() => attempts >= before + 3, "ioredis to try three times more", 30_000);
    await cluster.nodes[shard]!.start();
    await back();
    await waitFor(() => subscriberLines().includes("Redis reachable again"), "the shard to be reported back", 30_000);
    expect(subscriberLines()).toEqual(["Redis unreachable; retrying", "Redis reachable again"]);
  }, 60_000);
});
