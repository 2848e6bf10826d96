import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, onFreePorts, PortTakenError, spawnRedis } from "./redis.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

/** A Redis master with one replica, watched by one Sentinel, of a test's own on loopback. */
export interface OwnSentinelRedis {
  /** For `RedisBackplane`'s `redis` option: where the Sentinel is, and the master's name. */
  readonly redis: { sentinels: Array<{ host: string; port: number }>; name: string };
  /** The port of the master the Sentinel names now. */
  master(): Promise<number>;
  /** Runs redis-cli against the Redis on `port`; its output, trimmed. */
  cli(port: number, args: string[]): Promise<string>;
  /** Kills the master (SIGKILL): the Sentinel finds it down after a second and promotes the replica. */
  killMaster(): Promise<void>;
  /** Stops the master (SIGSTOP): its connections stay open and answer nothing; the Sentinel promotes the replica. */
  freezeMaster(): Promise<void>;
  /** Asks the Sentinel to hand the master's role to the replica, both running (SENTINEL FAILOVER). */
  failOver(): Promise<void>;
  /** Waits until the Sentinel names a master other than the one on `port`. */
  waitForMasterOtherThan(port: number): Promise<void>;
  /** Stops every process and removes their files. */
  stop(): Promise<void>;
}

const name = "hubwire";

/**
 * Starts a master, its replica and a Sentinel (quorum 1, a master down after 1 s), and waits
 * until the replica is in sync and the Sentinel knows it, so that a failover can promote it.
 *
 * @example
 * const sentinel = await startOwnSentinelRedis();
 * new RedisBackplane({ redis: sentinel.redis });
 */
export function startOwnSentinelRedis(): Promise<OwnSentinelRedis> {
  return onFreePorts(makeSentinelRedis);
}

async function makeSentinelRedis(): Promise<OwnSentinelRedis> {
  const dir = await mkdtemp(join(tmpdir(), "hubwire-sentinel-"));
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const cli = async (port: number, args: string[]) => (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout.trim();
  const children: ChildProcess[] = [];
  const redisArgs = (port: number) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const stopAll = async () => {
    await Promise.all(children.filter((child) => child.exitCode === null && child.signalCode === null).map((child) => stop(child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const master = spawnRedis(redisArgs(masterPort));
    children.push(master);
    await master.ready;
    const replica = spawnRedis([...redisArgs(replicaPort), "--replicaof", "127.0.0.1", String(masterPort)]);
    children.push(replica);
    await replica.ready;
    await waitFor(async () => (await cli(replicaPort, ["INFO", "replication"])).includes("master_link_status:up"), "the replica to sync with its master");
    const config = join(dir, "sentinel.conf");
    await writeFile(
      config,
      [
        `port ${sentinelPort}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
      ].join("\n"),
    );
    const sentinel = spawnSentinel(config);
    children.push(sentinel);
    await sentinel.ready;
    const replicaKnown = async () => (await cli(sentinelPort, ["SENTINEL", "REPLICAS", name])).includes(String(replicaPort));
    await waitFor(replicaKnown, "the Sentinel to find the replica");
    const ports = { [masterPort]: master, [replicaPort]: replica };
    const sentinelSays = async () => Number((await cli(sentinelPort, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])).split("\n")[1]);
    return {
      redis: { sentinels: [{ host: "127.0.0.1", port: sentinelPort }], name },
      master: sentinelSays,
      cli,
      async killMaster() {
        await stop(ports[await sentinelSays()]!);
      },
      async freezeMaster() {
        ports[await sentinelSays()]!.kill("SIGSTOP");
      },
      async failOver() {
        // Refused (NOGOODSLAVE) until the Sentinel has read the replica's INFO once, some seconds after it found it.
        await waitFor(async () => (await cli(sentinelPort, ["SENTINEL", "FAILOVER", name])) === "OK", "the Sentinel to take the failover", 30_000);
      },
      async waitForMasterOtherThan(port) {
        await waitFor(async () => (await sentinelSays()) !== port, "the Sentinel to name another master", 30_000);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A Sentinel from `config`, ready once it watches the master (it does not say "Ready to accept connections"). */
function spawnSentinel(config: string): ChildProcess & { ready: Promise<void> } {
  const child = spawn("redis-server", [config, "--sentinel"], { stdio: ["ignore", "pipe", "ignore"] });
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the Sentinel did not start in 10 s")), 10_000);
    child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      log = (log + text).slice(-2000);
      if (/\+monitor master/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(/address already in use/i.test(log) ? new PortTakenError("the Sentinel's port was taken") : new Error(`the Sentinel exited at start: ${log.trim().split("\n").pop()}`));
    });
  });
  ready.catch(() => {});
  return Object.assign(child, { ready });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}
