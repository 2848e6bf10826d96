import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { Redis } from "ioredis";

/** A Redis of one's own (a test's or a bench run's), on a free loopback port, that may be stopped and started again. */
export interface OwnRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const own: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (running()) return;
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
      let failed: Error | undefined;
      child.once("error", (error) => (failed = error)); // no redis-server installed: fail, never skip
      child.once("exit", () => (failed ??= new Error(`redis-server on port ${port} exited at start (its port taken?)`)));
      await waitForPing(own.url, () => failed);
    },
    async stop() {
      if (!running()) return;
      const exited = once(child!, "exit");
      child!.kill("SIGKILL");
      await exited;
    },
  };
  await own.start();
  return own;
}

/** Waits until the Redis at `url` answers a PING, checking every 10 ms for 10 s at most. */
async function waitForPing(url: string, failed: () => Error | undefined): Promise<void> {
  const answers = async () => {
    const error = failed();
    if (error) throw error;
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers())) {
    if (Date.now() > deadline) throw new Error(`timed out after 10000 ms waiting for redis-server at ${url} to start`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A port no one listens on now, on loopback, below the kernel's ephemeral range. A Redis that is
 * stopped and started again must get its port back: a port from the ephemeral range (what
 * listening on port 0 gives) may meanwhile be handed to another test's port 0, or be the local
 * end of an outgoing connection (a client retrying that very port may even connect to itself).
 */
export async function freePort(): Promise<number> {
  const lowest = 10_000;
  const [ephemeralFrom] = ephemeralPorts();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lowest + Math.floor(Math.random() * (ephemeralFrom - lowest));
    if (await listenable(port)) return port;
  }
  throw new Error(`no free port found between ${lowest} and ${ephemeralFrom}`);
}

/** The range the kernel picks ports from for port 0 and outgoing connections (Linux; else IANA's). */
function ephemeralPorts(): [number, number] {
  try {
    const [from, to] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (from! > 11_000 && to! >= from!) return [from!, to!];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
