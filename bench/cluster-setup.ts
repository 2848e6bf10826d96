import { resolve } from "node:path";
import { Redis } from "ioredis";
import { Child } from "./child.js";
import type { PrimaryCommand, PrimaryEvent } from "./cluster-primary.js";
import type { ServerHandle, Setup } from "./interleaved.js";
import type { ServerCommand, ServerEvent, TargetName } from "./protocol.js";
import { startOwnRedis, type OwnRedis } from "./redis-server.js";

/**
 * `nodes` hubwire servers sharing the Redis at `redis` (each cluster under a channel prefix of its
 * own), behind a round-robin proxy that the loader connects to. One node runs without a
 * backplane: a lone server, the baseline a cluster is compared with. `against`: the root of
 * another built checkout of hubwire whose nodes run instead (its `dist/bench/server-process.js`),
 * to compare two versions in one run.
 */
export function clusterSetup(nodes: number, target: TargetName, redis: SharedRedis, against?: string): Setup {
  const script = against ? resolve(against, "dist/bench/server-process.js") : "./server-process.js";
  const name = `${nodes} node${nodes === 1 ? "" : "s"}${against ? " (against)" : ""}`;
  return {
    label: name,
    target,
    async start(own) {
      const url = nodes > 1 ? (await redis.get()).url : "";
      const servers = Array.from({ length: nodes }, () => new Child<ServerEvent, ServerCommand>(script, ["hubwire-node", url, `bench-${name.replace(/\W+/g, "-")}`], ["--expose-gc"]));
      servers.forEach(own);
      const ports: number[] = [];
      for (const server of servers) ports.push((await server.next("ready", 15_000)).port);
      return { servers, port: await behindProxy(ports, own) };
    },
    ...(nodes > 1 ? { sharedCpuMicros: () => redis.cpuMicros() } : {}),
  };
}

/**
 * `workers` hubwire nodes as the workers of one Node cluster (node:cluster) over a
 * ClusterBackplane: their primary (cluster-primary.ts) relays what they publish, and its CPU is
 * the shared figure, as a Redis's is for the nodes of clusterSetup. The workers share one port,
 * whose connections the primary hands out in turn; the loader connects through the same
 * round-robin proxy as the other clusters', so that their latencies compare. `against`: as for
 * clusterSetup, the primary and workers of another built checkout.
 */
export function nodeClusterSetup(workers: number, target: TargetName, against?: string): Setup {
  const script = against ? resolve(against, "dist/bench/cluster-primary.js") : "./cluster-primary.js";
  let primary: Child<PrimaryEvent, PrimaryCommand> | undefined;
  return {
    label: `${workers} workers (node:cluster)${against ? " (against)" : ""}`,
    target,
    async start(own) {
      const started = new Child<PrimaryEvent, PrimaryCommand>(script, [String(workers)], []);
      primary = started;
      own(started);
      const servers = Array.from({ length: workers }, (_, worker): ServerHandle => ({
        send: (command) => started.send({ kind: "worker", worker, command }),
        next: (kind, ms) => started.next(kind, ms, (event) => "worker" in event && event.worker === worker) as never,
      }));
      const ports = new Set<number>();
      for (const server of servers) ports.add((await server.next("ready", 15_000)).port);
      return { servers, port: await behindProxy([...ports], own) };
    },
    async sharedCpuMicros() {
      primary!.send({ kind: "cpu" });
      return (await primary!.next("cpu", 5_000)).micros;
    },
  };
}

/** Starts the round-robin proxy in front of `ports` (see proxy-process.ts); resolves with its port. */
async function behindProxy(ports: number[], own: (child: { kill(): void }) => void): Promise<number> {
  const proxy = new Child<{ kind: "ready"; port: number }, never>("./proxy-process.js", ports.map((port) => `http://127.0.0.1:${port}`), []);
  own(proxy);
  return (await proxy.next("ready", 15_000)).port;
}

/**
 * The Redis of the bench's cluster runs: a redis-server of its own on a free loopback port
 * (never a Redis that may be serving something else), started when a run first needs it.
 */
export class SharedRedis {
  private redis: Promise<OwnRedis> | undefined;
  private started: OwnRedis | undefined;
  private client: Redis | undefined;

  get(): Promise<OwnRedis> {
    this.redis ??= startOwnRedis().then((redis) => (this.started = redis));
    return this.redis;
  }

  /** The CPU time (user and system) Redis has used, in µs, from its INFO. */
  async cpuMicros(): Promise<number> {
    this.client ??= new Redis((await this.get()).url);
    const info = await this.client.info("cpu");
    const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
    return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6;
  }

  /** Stops redis-server (killed by its pid at once, so that this also works as the runner exits). */
  stop(): Promise<void> {
    this.client?.disconnect();
    return this.started?.stop() ?? Promise.resolve();
  }
}
