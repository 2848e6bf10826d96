import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/index.js";
import type { LinkDrop } from "../../src/lifetime/backplane.js";
import { AspNetCoreRedisBackplane } from "../../src/redis/index.js";
import { ChatHub, chatServers, channelOf, onCluster, recordingLogger, tally, type Client, faultSettings } from "../support/chat-servers.js";
import { startOwnRedisCluster, type OwnRedisCluster } from "../support/redis-cluster.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

/**
 * Three hubwire servers on a 3-shard Redis Cluster of the test's own, with sharded pub/sub,
 * and official clients on each.
 */
describe("scale-out over a Redis Cluster with sharded pub/sub", () => {
  let cluster: OwnRedisCluster;
  const chat = chatServers(onCluster(() => cluster));
  const { servers, backplanes, startServer, connect, ticksThroughFault } = chat;
  let proxy: TcpProxy | undefined;
  /** Group names whose channels land on shard 0, 1 and 2. */
  const groupOnShard: string[] = [];

  beforeAll(async () => {
    cluster = await startOwnRedisCluster(3);
    for (let i = 0; groupOnShard.filter(Boolean).length < 3; i++) {
      const shard = await cluster.shardOf(channelOf("group", `g${i}`));
      groupOnShard[shard] ??= `g${i}`;
    }
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await chat.close();
    await proxy?.close();
    proxy = undefined;
    await Promise.all(cluster.nodes.map((node) => node.start())); // a node a test stopped runs again
    await cluster.waitUntilOk();
  });

  /**
   * Servers A and B, with a client each, B's in a group on a shard that carries neither the
   * hub's heartbeats nor its sends to all; B reaches that shard through the test's proxy.
   */
  async function serverBehindProxyOnQuietShard() {
    const scaleOut = faultSettings;
    const busy = [await cluster.shardOf("hubwire:ChatHub:presence"), await cluster.shardOf("hubwire:ChatHub:all")];
    const shard = [0, 1, 2].find((each) => !busy.includes(each))!;
    const group = groupOnShard[shard]!;
    const port = cluster.nodes[shard]!.port;
    const shardProxy = (proxy = await startTcpProxy(port));
    const natMap = { [`127.0.0.1:${port}`]: { host: "127.0.0.1", port: Number(new URL(shardProxy.url).port) } };
    const urls = [await startServer(scaleOut), await startServer(scaleOut, silentLogger, natMap)];
    const [a, b] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob")];
    await b.connection.invoke("Join", group);
    await waitFor(async () => {
      await a.connection.invoke("TickGroup", group, 0);
      return b.ticks.includes(0);
    }, "server B to hear the group's sends");
    return { shard, group, a, b, shardProxy };
  }

  /**
   * Client `a` ticks to `group`, which `b` and `c` join, then to `c`'s own channel (negated): 20
   * ticks heard before an outage; `whileOut` ticks 20 more while Redis is out (the sender is not
   * slowed: the outbox holds them), brings it back with `restart`, ticks now and then until both
   * receivers hear again, then 20 more.
   */
  async function ticksAcross(a: Client, group: string, b: Client, c: Client) {
    await b.connection.invoke("Join", group);
    await c.connection.invoke("Join", group);
    let sent = 0;
    let lastTickAt = 0;
    const tick = async () => {
      sent++;
      lastTickAt = Date.now();
      await a.connection.invoke("TickGroup", group, sent);
      await a.connection.invoke("TickConnection", c.id, -sent);
    };
    const heard = () => b.ticks.includes(sent) && c.ticks.includes(sent) && c.ticks.includes(-sent);
    for (let i = 0; i < 20; i++) await tick();
    await waitFor(heard, "the first ticks");
    const whileOut = async (restart: () => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await tick();
      await restart();
      await cluster.waitUntilOk();
      await waitFor(
        async () => {
          if (heard()) return true;
          if (Date.now() - lastTickAt > 200) await tick();
          return false;
        },
        () => `delivery to resume (b has ${b.ticks.length}, c has ${c.ticks.length} of ${sent})`,
        30_000,
      );
      for (let i = 0; i < 20; i++) await tick();
      await waitFor(heard, "the last ticks");
    };
    const tallies = () => ({ b: tally(b.ticks, sent), c: tally(c.ticks, sent), cDirect: tally(c.ticks, sent, -1) });
    const none = { b: { lost: 0, duplicated: 0 }, c: { lost: 0, duplicated: 0 }, cDirect: { lost: 0, duplicated: 0 } };
    return { whileOut, tallies, none };
  }

  it("delivers sends to all, groups on every shard, users and connections across servers, once each", async () => {
    const urls = [await startServer(), await startServer(), await startServer()];
    const [a, b, c] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob", true), await connect(urls[2]!, "bob")];

    await a.connection.invoke("Broadcast", "to all");
    await waitFor(() => [a, b, c].every((x) => x.received.length === 1), "the broadcast on the three servers");

    // One group per shard, each with members on two servers: b on server 1, c on server 2.
    for (const group of groupOnShard) {
      await b.connection.invoke("Join", group);
      expect(await a.connection.invoke("AddToGroup", c.id, group)).toBe("added");
    }
    // Each group's channel is subscribed on the shard that owns its slot, and on that one only.
    for (const [shard, group] of groupOnShard.entries()) {
      for (const node of [0, 1, 2]) {
        expect((await cluster.shardChannels(node)).includes(channelOf("group", group!)), `${group} on node ${node}`).toBe(node === shard);
      }
    }
    for (const group of groupOnShard) await a.connection.invoke("SendToGroup", group, `to ${group}`);
    const groupTexts = groupOnShard.map((group) => `to ${group}`);
    await waitFor(() => b.received.length === 4 && c.received.length === 4, "the group sends on servers 1 and 2");

    await a.connection.invoke("SendToUser", "bob", "to bob");
    await c.connection.invoke("SendToConnection", a.id, "to a");
    await waitFor(() => b.received.length === 5 && c.received.length === 5 && a.received.length === 2, "the user and connection sends");

    // Each once; sends on channels of different shards may arrive in either order.
    const sorted = (texts: string[]) => [...texts].sort();
    expect(sorted(a.received)).toEqual(sorted(["to all", "to a"]));
    expect(sorted(b.received)).toEqual(sorted(["to all", ...groupTexts, "to bob"]));
    expect(sorted(c.received)).toEqual(sorted(["to all", ...groupTexts, "to bob"]));
  });

  it("asks client results of connections on other servers, and knows the servers alive", async () => {
    const urls = [await startServer(), await startServer(), await startServer()];
    const [a, b, c] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob", true), await connect(urls[2]!, "cy")];

    expect(await a.connection.invoke("Ask", b.id, "why")).toBe("answer to why");
    expect(await b.connection.invoke("Ask", c.id, "how")).toBe("answer to how");
    expect(await c.connection.invoke("Ask", "nobody", "who")).toBe("ERR_CONNECTION_NOT_FOUND");

    // Presence: every server hears the others' heartbeats on the hub's presence channel (one shard).
    const presence = channelOf("presence", "").slice(0, -1);
    const shard = await cluster.shardOf(presence);
    expect(await cluster.shardChannels(shard)).toContain(presence);
    // A server that closes is forgotten: a send to its connection counts as unreceived.
    await servers[2]!.close();
    const before = servers[0]!.scaleOutStats(ChatHub)!.unreceived;
    await a.connection.invoke("SendToConnection", c.id, "gone");
    await waitFor(() => servers[0]!.scaleOutStats(ChatHub)!.unreceived === before + 1, "the send to a closed server's connection to count as unreceived");
  });

  it("resumes delivery after a shard restarts, losing and doubling nothing within the outbox's bounds", async () => {
    const scaleOut = faultSettings;
    // a publishes to the restarted shard; b subscribes there (its group).
    const [log, subscriberLog] = [recordingLogger(), recordingLogger()];
    const urls = [await startServer(scaleOut, log), await startServer(scaleOut, subscriberLog), await startServer(scaleOut)];
    const [a, b, c] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob"), await connect(urls[2]!, "cy", true)];
    // The restarted shard holds the group's channel; c's own channel is on another shard, so c
    // gets a's sends through two shards, in whichever order they come.
    const restarted = ((await cluster.shardOf(channelOf("connection", c.id))) + 1) % 3;
    const group = groupOnShard[restarted]!;
    const ticks = await ticksAcross(a, group, b, c);
    await cluster.nodes[restarted]!.stop();
    await ticks.whileOut(() => cluster.nodes[restarted]!.start());

    // The outage of that one shard is reported, and its end.
    const node = `127.0.0.1:${cluster.nodes[restarted]!.port}`;
    const about = (message: string) => log.lines.filter((line) => line.message === message && line.fields?.node === node).map((line) => line.fields?.role);
    expect(about("Redis unreachable; retrying")).toContain("publisher");
    await waitFor(() => about("Redis reachable again").includes("publisher"), "the publisher to report the shard back");
    // Its subscriber says so once each way too, not at every retry of ioredis's.
    const subscriberLines = () => subscriberLog.lines.filter((line) => line.fields?.node === node && line.fields?.role === "subscriber").map((line) => line.message);
    await waitFor(() => subscriberLines().includes("Redis reachable again"), "the subscriber to report the shard back");
    expect(subscriberLines()).toEqual(["Redis unreachable; retrying", "Redis reachable again"]);
    expect(ticks.tallies()).toEqual(ticks.none);
  }, 90_000);

  it("resumes delivery after the whole cluster restarts, losing and doubling nothing within the outbox's bounds", async () => {
    const scaleOut = faultSettings;
    const urls = [await startServer(scaleOut), await startServer(scaleOut), await startServer(scaleOut)];
    const [a, b, c] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob"), await connect(urls[2]!, "cy", true)];
    const ticks = await ticksAcross(a, groupOnShard[0]!, b, c);
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await ticks.whileOut(() => Promise.all(cluster.nodes.map((node) => node.start())));
    expect(ticks.tallies()).toEqual(ticks.none);
  }, 90_000);

  it("delivers what a server publishes to a shard that restarted too quickly for any publish to fail, once the others subscribe there again", async () => {
    // Server A publishes nothing to the shard while it restarts; the proxy keeps B away after.
    const { shard: restarted, group, a, b, shardProxy } = await serverBehindProxyOnQuietShard();
    shardProxy.refuse(true);
    await cluster.nodes[restarted]!.stop();
    await cluster.nodes[restarted]!.start();
    await cluster.waitUntilOk();
    const refused = shardProxy.refused;
    await waitFor(() => shardProxy.refused > refused, "server B to try to subscribe on the restarted shard again, and be refused");
    const published = () => servers[0]!.scaleOutStats(ChatHub)!.published;
    const before = published();
    await a.connection.invoke("TickGroup", group, 1);
    const outbox = servers[0]!["scaleOut"]!["managers"][0]!["outbox"];
    await waitFor(() => published() > before || !outbox.isOpen, "server A to publish the send, or hold it");
    shardProxy.refuse(false);
    await waitFor(
      async () => {
        await a.connection.invoke("TickGroup", group, 2);
        return b.ticks.includes(2);
      },
      "server B to hear the group's sends again",
      15_000,
    );
    expect(b.ticks.filter((n) => n > 0)[0]).toBe(1);
    expect(b.ticks.filter((n) => n === 1)).toEqual([1]);
  }, 90_000);

  it("delivers to a server whose subscriber on one shard dropped what another server sent there meanwhile, once and in order", async () => {
    // Server B hears itself throughout, and what comes through the other shards keeps coming;
    // the proxy cuts its connections to the quiet shard, and only those.
    const { group, a, b, shardProxy } = await serverBehindProxyOnQuietShard();
    await ticksThroughFault(a, b, group, async (sent) => {
      // Pub/sub keeps nothing for a subscriber that is gone: what the shard sends B until ioredis
      // makes B's subscriber there again is lost to it, though A's publishes succeed.
      shardProxy.refuse(true);
      shardProxy.cut();
      const atCut = sent();
      // Kept away while server A sends some twenty ticks more.
      await waitFor(() => shardProxy.refused > 0 && sent() > atCut + 20, "server B to try to reach the shard again, and be refused");
      shardProxy.refuse(false);
    });
  }, 90_000);

  it("delivers to a server whose subscriber on one shard went silent what another server sent there meanwhile, once and in order", async () => {
    const { group, a, b, shardProxy } = await serverBehindProxyOnQuietShard();
    // Nothing goes through B's connections to the quiet shard from now on, and nothing closes
    // them: B finds out by a PING that gets no answer.
    await ticksThroughFault(a, b, group, async () => void shardProxy.blackHole());
  }, 90_000);

  it("delivers to a server whose cluster client reconnected as a whole what another server sent meanwhile, once and in order", async () => {
    const scaleOut = faultSettings;
    const urls = [await startServer(scaleOut), await startServer(scaleOut)];
    const [a, b] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob")];
    const group = groupOnShard[0]!;
    await b.connection.invoke("Join", group);
    await ticksThroughFault(a, b, group, async () => {
      // What ioredis does itself when no node answers it (ClusterAllFailedError): every shard's
      // subscriber of server B ends, with no `-node` for any, and all are made again once the
      // cluster client reconnects; what A sends meanwhile is lost to B unless sent again.
      (backplanes[1] as unknown as { subscriber: { disconnect(reconnect: boolean): void } }).subscriber.disconnect(true);
    });
  }, 90_000);

  it.each([
    ["another shard", () => Promise.resolve(1), true],
    ["a shard added to the cluster", () => cluster.addMaster(), true],
    // Redis's SUNSUBSCRIBE, which ioredis reports, is the hint; the slot map read every publishTimeout, the guarantee.
    ["another shard (found by reading the slot map alone)", () => Promise.resolve(1), false],
  ])("delivers to a server whose group's slot moved to %s what another server sent there meanwhile, once and in order", async (_, target, hinted) => {
    const to = await target();
    const scaleOut = faultSettings;
    const log = recordingLogger();
    const urls = [await startServer(scaleOut), await startServer(scaleOut, log)];
    const [a, b] = [await connect(urls[0]!, "ann"), await connect(urls[1]!, "bob")];
    const group = groupOnShard[0]!;
    await b.connection.invoke("Join", group);
    if (!hinted) (backplanes[1] as unknown as { subscriber: { removeAllListeners(event: string): void } }).subscriber.removeAllListeners("nodeError");
    const drops: LinkDrop[] = [];
    backplanes[1]!.watchLinks({ dropped: (drop) => drops.push(drop), restored: () => {} });
    try {
      // The old owner ends every subscription of the slot; server A's publishes follow MOVED to
      // the new owner at once, while ioredis does not subscribe B there.
      await ticksThroughFault(a, b, group, () => cluster.moveSlotOf(channelOf("group", group), to));
      expect(await cluster.shardChannels(to)).toContain(channelOf("group", group));
      // The drop names the channel as the hub subscribed it: its replay starts from the sends it had there.
      expect(drops.flatMap((drop) => drop.channels ?? [])).toContain(`ChatHub:group:${group}`);
      // Said once, as what it is: no shard was out of reach.
      expect(log.lines.map((line) => line.message)).toEqual(["Hash slots of subscribed channels moved to another Redis Cluster shard; subscribing there"]);
    } finally {
      await cluster.moveSlotOf(channelOf("group", group), 0);
    }
  }, 90_000);

  it("is not offered to ASP.NET Core's format, whose backplane uses classic pub/sub", () => {
    const options = { cluster: { nodes: cluster.startupNodes }, hubTypeNames: {} };
    expect(() => new AspNetCoreRedisBackplane(options as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
  });
});
