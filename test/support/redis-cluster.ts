import { execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, onFreePorts, spawnRedis } from "./redis.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

/** One master of a test's own Redis Cluster, which the test may stop and start again. */
export interface ClusterNode {
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the process (SIGSTOP): its connections stay open and it answers nothing, until `thaw`. */
  freeze(): void;
  thaw(): void;
}

/** A Redis Cluster of a test's own on loopback: masters, and replicas if asked. */
export interface OwnRedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** For `RedisBackplane`'s `cluster.nodes`. */
  readonly startupNodes: Array<{ host: string; port: number }>;
  /** Runs redis-cli against one node, e.g. `["PUBSUB", "SHARDCHANNELS"]`; its output, trimmed. */
  cli(port: number, args: string[]): Promise<string>;
  /** The index in `nodes` of the master that owns `channel`'s hash slot. */
  shardOf(channel: string): Promise<number>;
  /** The indexes in `nodes` of the replicas of master `index`. */
  replicasOf(index: number): Promise<number[]>;
  /** The shard channels subscribed on node `index` (PUBSUB SHARDCHANNELS). */
  shardChannels(index: number): Promise<string[]>;
  /** Waits until every node says `cluster_state:ok`. */
  waitUntilOk(): Promise<void>;
  /**
   * Moves `channel`'s hash slot to node `to`, as a resharding does (the slot holds no keys, so
   * none is migrated), and waits until every node agrees; its subscribers there lose it.
   */
  moveSlotOf(channel: string, to: number): Promise<void>;
  /** Starts one more master, with no slots yet, and joins it to the cluster; its index in `nodes`. */
  addMaster(): Promise<number>;
  /** Stops every node and removes their files. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` redis-servers in cluster mode on free ports, joins them with
 * `redis-cli --cluster create` (the slots split evenly) and waits for `cluster_state:ok`. A
 * stopped node restarts from its cluster config file, so it keeps its id and its slots. A port
 * found free may be taken before its server binds it (another test picked it too): the cluster
 * is then made again on other ports, twice at most.
 *
 * @example
 * const cluster = await startOwnRedisCluster();
 * new RedisBackplane({ cluster: { nodes: cluster.startupNodes } });
 */
export function startOwnRedisCluster(masters = 3, replicasPerMaster = 0): Promise<OwnRedisCluster> {
  return onFreePorts(() => makeCluster(masters, replicasPerMaster));
}

async function makeCluster(masters: number, replicasPerMaster: number): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "hubwire-cluster-"));
  const nodes: Array<ClusterNode & { running(): boolean }> = [];
  for (let i = 0; i < masters * (1 + replicasPerMaster); i++) nodes.push(clusterNode(await freePort(), await freePort(), dir));
  const cli = async (port: number, args: string[]) => (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout.trim();
  const cluster: OwnRedisCluster = {
    nodes,
    startupNodes: nodes.map(({ port }) => ({ host: "127.0.0.1", port })),
    cli,
    async shardOf(channel) {
      const running = nodes.filter((node) => node.running());
      const slot = Number(await cli(running[0]!.port, ["CLUSTER", "KEYSLOT", channel]));
      for (const [index, node] of nodes.entries()) {
        if (!node.running()) continue;
        // Each line of CLUSTER NODES: id address flags ... slot ranges; "myself" marks the node asked.
        const own = (await cli(node.port, ["CLUSTER", "NODES"])).split("\n").find((line) => line.includes("myself"))!;
        const ranges = own.split(" ").slice(8).map((range) => range.split("-").map(Number));
        if (ranges.some(([from, to = from]) => slot >= from! && slot <= to!)) return index;
      }
      throw new Error(`no node owns slot ${slot} of ${channel}`);
    },
    async replicasOf(index) {
      const id = await cli(nodes[index]!.port, ["CLUSTER", "MYID"]);
      const replicas: number[] = [];
      for (const [other, node] of nodes.entries()) {
        // A replica's own line in CLUSTER NODES: id address flags master-id ...
        if (!node.running()) continue;
        const own = (await cli(node.port, ["CLUSTER", "NODES"])).split("\n").find((line) => line.includes("myself"));
        if (own?.split(" ")[3] === id) replicas.push(other);
      }
      return replicas;
    },
    async shardChannels(index) {
      const out = await cli(nodes[index]!.port, ["PUBSUB", "SHARDCHANNELS"]);
      return out === "" ? [] : out.split("\n");
    },
    async waitUntilOk() {
      const ok = async () => (await Promise.all(nodes.map((n) => cli(n.port, ["CLUSTER", "INFO"]).catch(() => "")))).every((info) => info.includes("cluster_state:ok"));
      await waitFor(ok, "the Redis Cluster to say cluster_state:ok", 30_000);
      // A replica that has not synced with its master yet cannot take over (a manual failover waits, then gives up).
      const synced = async () =>
        (await Promise.all(nodes.map((n) => cli(n.port, ["INFO", "replication"]).catch(() => "")))).every((info) => !info.includes("role:slave") || info.includes("master_link_status:up"));
      await waitFor(synced, "every replica to be in sync with its master", 30_000);
    },
    async moveSlotOf(channel, to) {
      const from = await cluster.shardOf(channel);
      if (from === to) return;
      const running = nodes.filter((node) => node.running()).map((node) => node.port);
      const slot = await cli(running[0]!, ["CLUSTER", "KEYSLOT", channel]);
      const [source, target] = [nodes[from]!.port, nodes[to]!.port];
      if ((await cli(source, ["CLUSTER", "COUNTKEYSINSLOT", slot])) !== "0") throw new Error(`slot ${slot} holds keys`);
      const [sourceId, targetId] = [await cli(source, ["CLUSTER", "MYID"]), await cli(target, ["CLUSTER", "MYID"])];
      // In the order Redis's documentation gives: importing, migrating, then the owner, target first.
      await cli(target, ["CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId]);
      await cli(source, ["CLUSTER", "SETSLOT", slot, "MIGRATING", targetId]);
      for (const port of [target, source, ...running.filter((p) => p !== source && p !== target)]) {
        await cli(port, ["CLUSTER", "SETSLOT", slot, "NODE", targetId]);
      }
      await waitFor(async () => (await cluster.shardOf(channel)) === to, `slot ${slot} to move to node ${to}`);
    },
    async addMaster() {
      const busPort = await freePort();
      const node = clusterNode(await freePort(), busPort, dir);
      await node.start();
      nodes.push(node);
      const running = nodes.filter((each) => each.running());
      await cli(running[0]!.port, ["CLUSTER", "MEET", "127.0.0.1", String(node.port), String(busPort)]);
      // Each node lists every other one, the handshake done.
      const knowsAll = async (port: number) => {
        const lines = (await cli(port, ["CLUSTER", "NODES"])).split("\n");
        return lines.length === running.length && !lines.some((line) => line.includes("handshake"));
      };
      await waitFor(async () => (await Promise.all(running.map((each) => knowsAll(each.port)))).every(Boolean), "every node to know the new master");
      await cluster.waitUntilOk();
      return nodes.length - 1;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    const addresses = nodes.map(({ port }) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicasPerMaster), "--cluster-yes"]);
    await cluster.waitUntilOk();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function clusterNode(port: number, busPort: number, dir: string): ClusterNode & { running(): boolean } {
  let child: ChildProcess | undefined;
  let frozen = false;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  /** Alive and answering: what the helpers above may ask. */
  const running = () => alive() && !frozen;
  const args = [
    "--port", String(port), "--cluster-port", String(busPort), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
    "--cluster-config-file", join(dir, `nodes-${port}.conf`), "--dir", dir,
    "--save", "", "--appendonly", "no", "--cluster-node-timeout", "2000",
    // The other shards keep serving while one is down, as a sharded backplane expects.
    "--cluster-require-full-coverage", "no",
  ];
  return {
    port,
    running,
    async start() {
      if (alive()) return;
      const started = spawnRedis(args);
      child = started;
      await started.ready;
    },
    async stop() {
      if (!child || !alive()) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      frozen = false;
      await exited;
    },
    freeze() {
      if (!alive()) return;
      child!.kill("SIGSTOP");
      frozen = true;
    },
    thaw() {
      if (!frozen) return;
      child!.kill("SIGCONT");
      frozen = false;
    },
  };
}
