import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Child } from "./child.js";
import { clusterSetup, nodeClusterSetup, SharedRedis } from "./cluster-setup.js";
import { runCodec } from "./codec.js";
import { aspnetcoreComparison } from "./aspnetcore/compare.js";
import { unavailableTargets } from "./aspnetcore/project.js";
import { measureInterleaved, targetSetup, type MeasureSettings } from "./interleaved.js";
import { type LoaderCommand, type LoaderEvent, type TargetName } from "./protocol.js";
import { acceptInstructionsTable, countAcceptInstructions, countInstructions, instructionsTable } from "./instructions.js";
import { countDeliveryInstructions, deliveryInstructionsTable } from "./delivery-instructions.js";
import { codecTable, scenarioTable, type Row } from "./report.js";
import { scenarioRuns, type ScenarioRun } from "./scenarios.js";
import { serverChild } from "./server-child.js";
import { flag, option } from "./args.js";
import { wakeupCostMicros } from "./wakeups.js";

// `npm run bench -- [--quick] [--scenario echo-1,idle,...] [--targets ws,hubwire-json,...]
//                   [--duration <s>] [--connections <n>] [--echo-rate <calls/s>] [--repeat <n>] [--json <file>]
//                   [--nodes 1,2,3] [--rate <sends/s>] [--against <built checkout>] [--no-node-cluster]`
// `npm run bench -- --instructions [--targets ...] [--calls <n>] [--connections <n>]`: server
// instructions per echo call under valgrind instead of timings; with `--scenario idle`, per
// accepted connection (`--connections`, 500 unless given, counted after three times as many);
// with `--scenario broadcast-1000` or `groups`, per delivery of a broadcast or of a send to a
// group of ten (to `--connections`, 1,000 unless given).

const quick = flag("quick");
const onlyScenarios = option("scenario")?.split(",");
const onlyTargets = option("targets")?.split(",") as TargetName[] | undefined;
const seconds = option("duration") ? Number(option("duration")) : undefined;
const connections = option("connections") ? Number(option("connections")) : undefined;
// Comparing servers at the same call rate: the rate of echo-rate, 10,000 calls/s unless given.
const echoRate = option("echo-rate") ? Number(option("echo-rate")) : undefined;
const jsonFile = option("json");
// Cluster runs: which numbers of nodes (1, 2 and 3 unless given).
const onlyNodes = option("nodes")?.split(",").map(Number);
// Cluster runs that push (broadcast, groups, direct): sends per second over all nodes, instead of the scenario's.
const clusterRate = option("rate") ? Number(option("rate")) : undefined;
// Cluster runs: each size also runs the nodes (and the Node cluster) of another built checkout, in the same turns.
const against = option("against");
// Cluster runs: each size of 2 or more also runs as the workers of one Node cluster (ClusterBackplane), unless --no-node-cluster.
const nodeCluster = !flag("no-node-cluster");
// Measurements on a shared 2-core machine wander, within minutes. Targets take turns: every
// target's server and loader run side by side, and each target is measured for one-second slices
// in turn, `repeat` times its duration in all, so that a slow spell of the host falls on all
// targets alike. Idle runs (opening connections is what they measure) measure each target
// `repeat` times, in rounds, and keep the median.
const repeat = Number(option("repeat") ?? (quick ? 1 : 3));
const sliceMs = 1000;
/** How long a slice of pushes waits for its last deliveries: longer only for a client far behind. */
const drainTimeoutMs = 5000;
const payloadBytes = 32;
const measureSettings: MeasureSettings = { sliceMs, warmUpMs: quick ? 1000 : 2000, drainTimeoutMs, payloadBytes };

// The whole run stops by itself, whatever happens (with the ASP.NET Core targets a quick run
// took more than four minutes on a busy 2-core host).
const hardDeadline = setTimeout(() => {
  console.error("bench: hard time limit reached, stopping");
  process.exit(2);
}, (quick ? 10 : 60) * 60_000);
hardDeadline.unref();

if (flag("instructions") && onlyScenarios?.includes("idle")) {
  const rows = await countAcceptInstructions(onlyTargets ?? ["ws", "hubwire-json"], connections ?? 500);
  console.log(acceptInstructionsTable(rows));
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), acceptInstructions: rows }, null, 2));
  process.exit(0);
}
const pushCount = onlyScenarios?.includes("broadcast-1000") ? "broadcast" : onlyScenarios?.includes("groups") ? "groups" : undefined;
if (flag("instructions") && pushCount) {
  const targets = onlyTargets ?? ["ws", "ws-naive", "hubwire-json", "hubwire-msgpack", "hubwire-mux-json", "hubwire-mux-msgpack"];
  const rows = await countDeliveryInstructions(pushCount, targets, connections ?? 1000);
  console.log(deliveryInstructionsTable(pushCount, rows));
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), deliveryInstructions: rows }, null, 2));
  process.exit(0);
}
if (flag("instructions")) {
  const targets = onlyTargets ?? ["ws", "ws-naive", "socketio", "hubwire-json", "hubwire-msgpack"];
  const rows = await countInstructions(targets, Number(option("calls") ?? 50_000), connections ?? 20);
  console.log(instructionsTable(rows));
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), instructions: rows }, null, 2));
  process.exit(0);
}

// The cluster runs' Redis, of the bench's own; stopped however the run ends.
const redis = new SharedRedis();
process.on("exit", () => void redis.stop());

const runs = scenarioRuns(quick, seconds, connections, echoRate)
  .filter((r) => !onlyScenarios || onlyScenarios.includes(r.id))
  .map((r) => (clusterRate !== undefined && r.nodes && r.rate > 0 ? { ...r, rate: clusterRate } : r));
const results: Record<string, Row[]> = {};
const started = Date.now();
// Measured first, before any server or loader of the run is started.
const wakeupCost = await wakeupCostMicros();
console.log(
  `hubwire bench: ${quick ? "quick" : "full"} run, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}); ` +
    `targets in turn, ${repeat} x the duration in one-second slices; idle: median of ${repeat}\n` +
    `a wakeup of an idle Node process costs ${wakeupCost.toFixed(1)} us of CPU on this host (an empty 1 ms timer)\n`,
);
// ASP.NET Core's server is built now, before anything is measured; without .NET it is left out.
const leftOut = await unavailableTargets([...new Set(runs.flatMap((r) => r.targets))].filter((t) => !onlyTargets || onlyTargets.includes(t)));

for (const run of runs) {
  const targets = run.targets.filter((t) => (!onlyTargets || onlyTargets.includes(t)) && !leftOut.targets.includes(t));
  let rows: Row[];
  if (run.nodes) {
    const sizes = run.nodes.filter((n) => !onlyNodes || onlyNodes.includes(n));
    const setups =
      targets.length > 0
        ? sizes.flatMap((n) => [
            clusterSetup(n, targets[0]!, redis),
            ...(against ? [clusterSetup(n, targets[0]!, redis, against)] : []),
            ...(n > 1 && nodeCluster ? [nodeClusterSetup(n, targets[0]!)] : []),
            ...(n > 1 && nodeCluster && against ? [nodeClusterSetup(n, targets[0]!, against)] : []),
          ])
        : [];
    rows = await measureInterleaved(run, setups, Math.max(1, Math.round((repeat * run.durationMs) / sliceMs)), measureSettings);
  } else if (run.scenario !== "idle") {
    rows = await measureInterleaved(run, targets.map(targetSetup), Math.max(1, Math.round((repeat * run.durationMs) / sliceMs)), measureSettings);
  } else {
    const rounds: Row[][] = targets.map(() => []);
    for (let round = 0; round < repeat; round++) {
      for (const [i, target] of targets.entries()) rounds[i]!.push(await measure(run, target));
    }
    rows = rounds.map(median);
  }
  results[run.id] = rows;
  console.log(scenarioTable(run, rows) + "\n");
  const versus = aspnetcoreComparison(run, rows);
  if (versus) console.log(versus + "\n");
}
let codec: ReturnType<typeof runCodec> | undefined;
if (!onlyScenarios || onlyScenarios.includes("codec")) {
  codec = runCodec(quick ? 50_000 : 200_000);
  console.log(codecTable(codec) + "\n");
}
console.log(
  "x ws: ratio to the raw ws server at its best (ws; ws-naive is the obvious one) in the same run (for server us/op and KB/conn, lower is better).\n" +
    "hubwire / ASP.NET Core: hubwire's figures as ratios to ASP.NET Core SignalR's on the same transport.\n" +
    "server us/op: server CPU time (user + system) per operation; loader CPU: the load process's own use of one core.\n" +
    "wakeups/op (or /conn): the times the server's event loop slept and woke, per operation.\n" +
    "cluster runs: server us/op and wakeups/op sum every node's, backplane us/op is the shared Redis's (a Node cluster's: its primary's, which relays), x 1 node is the ratio to one node alone (no backplane) behind the same proxy.\n" +
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), quick, wakeupCostMicros: wakeupCost, results, codec, ...(leftOut.reason ? { leftOut } : {}) }, null, 2));
await redis.stop();
process.exit(0);

/**
 * The run whose server CPU per operation is the median of a target's runs (failures last), with
 * each memory figure the median of its own: a round's memory does not move with its CPU time.
 */
function median(runs: Row[]): Row {
  const ok = runs.filter((r) => !r.error).sort((a, b) => a.serverCpuMicrosPerOp - b.serverCpuMicrosPerOp);
  if (ok.length === 0) return runs[0]!;
  const middle = <T>(values: T[]): T => values[Math.floor((values.length - 1) / 2)]!;
  const row = { ...middle(ok) };
  const memory = (pick: (r: Row) => number | undefined) => middle(ok.map(pick).filter((v) => v !== undefined).sort((a, b) => a - b));
  if (row.kbPerConnection !== undefined) row.kbPerConnection = memory((r) => r.kbPerConnection);
  if (row.heapKbPerConnection !== undefined) row.heapKbPerConnection = memory((r) => r.heapKbPerConnection);
  return row;
}

/** One target in the idle scenario: its own server process and loader process, both killed after. */
async function measure(run: ScenarioRun, target: TargetName): Promise<Row> {
  const server = serverChild(target);
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const limit = run.durationMs + 60_000;
  try {
    const { port } = await server.next("ready", 15_000);
    server.send({ kind: "report", collect: true });
    const before = await server.next("report", 5_000);
    loader.send({
      kind: "config",
      config: { target, scenario: run.scenario, port, connections: run.connections, inFlight: run.inFlight, durationMs: run.durationMs, warmUpMs: measureSettings.warmUpMs, payloadBytes, groups: run.groups, rate: run.rate },
    });
    await loader.next("connected", limit);
    server.send({ kind: "reset" });
    loader.send({ kind: "go" });
    const { result } = await loader.next("result", limit);
    server.send({ kind: "report", collect: true });
    const after = await server.next("report", 5_000);
    const operations = Math.max(result.operations, 1);
    return {
      scenario: run.id,
      target,
      operationsPerSecond: (result.operations / result.elapsedMs) * 1000,
      ...(result.p50 !== undefined ? { p50Ms: result.p50 / 1000, p99Ms: result.p99! / 1000, p999Ms: result.p999! / 1000 } : {}),
      serverCpuMicrosPerOp: after.cpuMicros / operations,
      ...(after.wakeups !== undefined ? { serverWakeupsPerOp: after.wakeups / operations } : {}),
      serverRssMb: after.rssBytes / 1024 / 1024,
      ...(run.scenario === "idle"
        ? { kbPerConnection: (after.rssBytes - before.rssBytes) / 1024 / operations, heapKbPerConnection: (after.heapBytes - before.heapBytes) / 1024 / operations }
        : {}),
      loaderCpuPercent: result.loaderCpuPercent,
    };
  } catch (error) {
    return { scenario: run.id, target, operationsPerSecond: 0, serverCpuMicrosPerOp: 0, serverRssMb: 0, loaderCpuPercent: 0, error: (error as Error).message };
  } finally {
    loader.kill();
    server.kill();
  }
}
