import { resolve } from "node:path";
import { Redis } from "ioredis";
import { Child } from "./child.js";
import type { Setup } from "./interleaved.js";
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
      const proxy = new Child<{ kind: "ready"; port: number }, never>("./proxy-process.js", ports.map((port) => `http://127.0.0.1:${port}`), []);
      own(proxy);
      return { servers, port: (await proxy.next("ready", 15_000)).port };
    },
    ...(nodes > 1 ? { sharedCpuMicros: () => redis.cpuMicros() } : {}),
  };
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
