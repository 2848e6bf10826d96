import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A Redis of one's own (a test's or a bench run's), on a free loopback port, that may be stopped and started again. */
export interface OwnRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Starts a redis-server on a free port (`pickPort`'s). A port found free may be taken before the
 * server binds it (another test or run picked it too): the server then starts again on another,
 * twice at most.
 */
export function startOwnRedis(pickPort: () => Promise<number> = freePort): Promise<OwnRedis> {
  return onFreePorts(async () => {
    const own = ownRedis(await pickPort());
    try {
      await own.start();
      return own;
    } catch (error) {
      await own.stop(); // one that did not start in time may still run
      throw error;
    }
  });
}

/**
 * Runs `start`, which starts servers on ports found free, again while it fails with a
 * PortTakenError (a port taken meanwhile by another test or run), twice at most.
 */
export async function onFreePorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 3) throw error;
    }
  }
}

function ownRedis(port: number): OwnRedis {
  let child: ChildProcess | undefined;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (running()) return;
      const started = spawnRedis(["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
      child = started;
      await started.ready;
    },
    async stop() {
      if (!running()) return;
      const exited = once(child!, "exit");
      child!.kill("SIGKILL");
      await exited;
    },
  };
}

/** A redis-server that exited at start because its port (or its cluster bus port) was in use. */
export class PortTakenError extends Error {}

/**
 * Spawns redis-server with `args`. `ready` resolves once the server says it accepts connections
 * (its own words, not a PING: a PING would be answered by whatever holds the port), and rejects
 * if it exits first or cannot be run (no redis-server installed: a failure, never a skip), with a
 * PortTakenError where it could not bind a port, or after 10 s. What it logs (to standard output)
 * is read all along, so that it never blocks on a full pipe.
 */
export function spawnRedis(args: string[]): ChildProcess & { ready: Promise<void> } {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "ignore"] });
  const what = `redis-server (${args.slice(0, 2).join(" ")})`;
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 10 s`)), 10_000);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      log = (log + text).slice(-2000);
      if (/Ready to accept connections/.test(log)) settle();
    });
    child.once("error", settle);
    child.once("exit", () => {
      const lines = log.trim().split("\n");
      const why = lines.find((line) => /address already in use/i.test(line)) ?? lines.pop() ?? "";
      const reason = `${what} exited at start${why ? `: ${why.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ . /, "")}` : ""}`;
      settle(/address already in use/i.test(why) ? new PortTakenError(reason) : new Error(reason));
    });
  });
  ready.catch(() => {}); // read by whoever starts it; a late exit after `ready` is not an error here
  return Object.assign(child, { ready });
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
