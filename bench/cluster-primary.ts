import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import { ClusterBackplane } from "../src/cluster/index.js";
import type { ServerCommand, ServerEvent } from "./protocol.js";

// The primary of a Node cluster of hubwire nodes (ClusterBackplane), in a process the runner
// forks: it forks the workers (server-process.js, `hubwire-cluster-node`), which share one port,
// relays the runner's commands to each and their events back, each tagged with its worker's
// index, and reports its own CPU time: what relaying the backplane's messages costs, as a
// Redis's does for the other clusters. The number of workers is its argument.

/** From the runner: a command for one worker, or the primary's CPU time. */
export type PrimaryCommand = { kind: "worker"; worker: number; command: ServerCommand } | { kind: "cpu" };
/** To the runner: a worker's event, with its index, or the primary's CPU time (µs, user and system). */
export type PrimaryEvent = (ServerEvent & { worker: number }) | { kind: "cpu"; micros: number } | { kind: "failed"; error: string };

const send = (event: PrimaryEvent): void => void process.send!(event);
const count = Number(process.argv[2]);
ClusterBackplane.setupPrimary();
cluster.setupPrimary({ exec: fileURLToPath(new URL("./server-process.js", import.meta.url)), args: ["hubwire-cluster-node"], execArgv: ["--expose-gc"] });

const workers: Worker[] = [];
for (let index = 0; index < count; index++) {
  const worker = cluster.fork();
  // The backplane's own messages pass here too: they are the relay's.
  worker.on("message", (event: ServerEvent | { hubwireBackplane: string }) => {
    if ("kind" in event) send({ ...event, worker: index });
  });
  worker.on("exit", (code) => {
    if (!stopping) send({ kind: "failed", error: `worker ${index} exited (${code})` });
  });
  workers.push(worker);
}

let stopping = false;
process.on("message", (command: PrimaryCommand) => {
  if (command.kind === "cpu") {
    const { user, system } = process.cpuUsage();
    return send({ kind: "cpu", micros: user + system });
  }
  workers[command.worker]?.send(command.command);
});
process.on("disconnect", () => {
  stopping = true;
  for (const worker of workers) worker.disconnect();
  setTimeout(() => process.exit(0), 5_000).unref();
  cluster.on("exit", () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
});
