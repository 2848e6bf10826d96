import { writeHeapSnapshot } from "node:v8";
import { nowMicros, type ServerCommand, type ServerEvent } from "./protocol.js";
import { startHubwire } from "./targets/hubwire.js";
import { startHubwireClusterWorker, startHubwireNode } from "./targets/hubwire-node.js";
import { startRawWs } from "./targets/raw-ws.js";
import { startRawWsNaive } from "./targets/raw-ws-naive.js";
import { startSocketIo } from "./targets/socketio.js";
import type { TargetServer } from "./targets/target.js";
import { eventLoopWakeups } from "./wakeups.js";

// A target server in a process of its own, so its CPU time and memory are its alone.
// Started by the runner with --expose-gc; driven over IPC.

const starters: Record<string, () => Promise<TargetServer>> = {
  ws: startRawWs,
  "ws-naive": startRawWsNaive,
  socketio: startSocketIo,
  hubwire: startHubwire,
  // A node of a cluster: the Redis URL (none for a lone node), the cluster's channel prefix and,
  // optionally, its scale-out settings as JSON follow.
  "hubwire-node": () => startHubwireNode(process.argv[3] || undefined, process.argv[4] ?? "bench", process.argv[5] ? JSON.parse(process.argv[5]) : undefined),
  // A worker of a Node cluster (cluster-primary.ts), over a ClusterBackplane.
  "hubwire-cluster-node": startHubwireClusterWorker,
};

const name = process.argv[2] ?? "";
const start = starters[name];
if (!start) throw new Error(`unknown server '${name}'`);
const server = await start();
const send = (event: ServerEvent): void => void process.send!(event);
let cpuBaseline = process.cpuUsage();
let wakeupsBaseline = eventLoopWakeups();
const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", (command: ServerCommand) => {
  switch (command.kind) {
    case "reset":
      cpuBaseline = process.cpuUsage();
      wakeupsBaseline = eventLoopWakeups();
      return;
    case "report": {
      const cpu = process.cpuUsage(cpuBaseline);
      if (command.collect) gc?.();
      const memory = process.memoryUsage();
      const wakeups = eventLoopWakeups();
      send({ kind: "report", cpuMicros: cpu.user + cpu.system, wakeups: wakeups === undefined || wakeupsBaseline === undefined ? undefined : wakeups - wakeupsBaseline, rssBytes: memory.rss, heapBytes: memory.heapUsed, connections: server.connections() });
      return;
    }
    case "broadcast":
      return pace(command.rate, command.durationMs, () => server.broadcast(nowMicros()));
    case "groups": {
      let next = 0;
      return pace(command.rate, command.durationMs, () => server.sendToGroup(`g${next++ % command.groups}`, nowMicros()));
    }
    case "direct": {
      let next = 0;
      return pace(command.rate, command.durationMs, () => server.sendToConnection!(command.ids[next++ % command.ids.length]!, nowMicros()));
    }
    case "ids":
      send({ kind: "ids", ids: server.connectionIds!() });
      return;
    case "snapshot":
      gc?.();
      send({ kind: "snapshot", path: writeHeapSnapshot(command.path) });
      return;
  }
});

/**
 * Calls `action` `rate` times a second for `durationMs`, in small batches, then reports done.
 * It wakes when the next call is due (every millisecond at most): a timer every millisecond
 * whatever the rate would cost a slow sender more than its sends, and a cluster's nodes, each
 * sending its share, would pay it once per node.
 */
function pace(rate: number, durationMs: number, action: () => void): void {
  const started = performance.now();
  let sent = 0;
  const tick = (): void => {
    const elapsed = performance.now() - started;
    if (elapsed >= durationMs) {
      send({ kind: "done", sent });
      return;
    }
    const due = Math.floor((elapsed / 1000) * rate);
    while (sent < due) {
      action();
      sent++;
    }
    const nextDue = ((sent + 1) / rate) * 1000;
    setTimeout(tick, Math.max(1, Math.min(nextDue, durationMs) - (performance.now() - started)));
  };
  tick();
}

process.on("disconnect", () => {
  void server.close().finally(() => process.exit(0));
});
send({ kind: "ready", port: server.port });
