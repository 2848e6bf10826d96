import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Child } from "./child.js";
import { runCodec } from "./codec.js";
import { aspnetcoreComparison } from "./aspnetcore/compare.js";
import { unavailableTargets } from "./aspnetcore/project.js";
import { type LoadResult, type LoaderCommand, type LoaderEvent, type ServerCommand, type ServerEvent, type TargetName } from "./protocol.js";
import { countInstructions, instructionsTable } from "./instructions.js";
import { codecTable, scenarioTable, type Row } from "./report.js";
import { scenarioRuns, type ScenarioRun } from "./scenarios.js";
import { serverChild } from "./server-child.js";

// `npm run bench -- [--quick] [--scenario echo-1,idle,...] [--targets ws,hubwire-json,...]
//                   [--duration <s>] [--connections <n>] [--echo-rate <calls/s>] [--repeat <n>] [--json <file>]`
// `npm run bench -- --instructions [--targets ...] [--calls <n>] [--connections <n>]`: server
// instructions per echo call under valgrind instead of timings.

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const onlyScenarios = option("scenario")?.split(",");
const onlyTargets = option("targets")?.split(",") as TargetName[] | undefined;
const seconds = option("duration") ? Number(option("duration")) : undefined;
const connections = option("connections") ? Number(option("connections")) : undefined;
// Comparing servers at the same call rate: the rate of echo-rate, 10,000 calls/s unless given.
const echoRate = option("echo-rate") ? Number(option("echo-rate")) : undefined;
const jsonFile = option("json");
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

// The whole run stops by itself, whatever happens (with the ASP.NET Core targets a quick run
// took more than four minutes on a busy 2-core host).
const hardDeadline = setTimeout(() => {
  console.error("bench: hard time limit reached, stopping");
  process.exit(2);
}, (quick ? 10 : 60) * 60_000);
hardDeadline.unref();

if (args.includes("--instructions")) {
  const targets = onlyTargets ?? ["ws", "ws-naive", "socketio", "hubwire-json", "hubwire-msgpack"];
  const rows = await countInstructions(targets, Number(option("calls") ?? 50_000), connections ?? 20);
  console.log(instructionsTable(rows));
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), instructions: rows }, null, 2));
  process.exit(0);
}

const runs = scenarioRuns(quick, seconds, connections, echoRate).filter((r) => !onlyScenarios || onlyScenarios.includes(r.id));
const results: Record<string, Row[]> = {};
const started = Date.now();
console.log(
  `hubwire bench: ${quick ? "quick" : "full"} run, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}); ` +
    `targets in turn, ${repeat} x the duration in one-second slices; idle: median of ${repeat}\n`,
);
// ASP.NET Core's server is built now, before anything is measured; without .NET it is left out.
const leftOut = await unavailableTargets([...new Set(runs.flatMap((r) => r.targets))].filter((t) => !onlyTargets || onlyTargets.includes(t)));

for (const run of runs) {
  const targets = run.targets.filter((t) => (!onlyTargets || onlyTargets.includes(t)) && !leftOut.targets.includes(t));
  let rows: Row[];
  if (run.scenario !== "idle") {
    rows = await measureInterleaved(run, targets, Math.max(1, Math.round((repeat * run.durationMs) / sliceMs)));
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
    `done in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), quick, results, codec, ...(leftOut.reason ? { leftOut } : {}) }, null, 2));
process.exit(0);

/** The run whose server CPU per operation is the median of a target's runs (failures last). */
function median(runs: Row[]): Row {
  const ok = runs.filter((r) => !r.error).sort((a, b) => a.serverCpuMicrosPerOp - b.serverCpuMicrosPerOp);
  return ok.length > 0 ? ok[Math.floor((ok.length - 1) / 2)]! : runs[0]!;
}

/** One target in the idle scenario: its own server process and loader process, both killed after. */
async function measure(run: ScenarioRun, target: TargetName): Promise<Row> {
  const server = serverChild(target);
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const limit = run.durationMs + 60_000;
  try {
    const { port } = await server.next("ready", 15_000);
    server.send({ kind: "report" });
    const before = await server.next("report", 5_000);
    loader.send({
      kind: "config",
      config: { target, scenario: run.scenario, port, connections: run.connections, inFlight: run.inFlight, durationMs: run.durationMs, warmUpMs: quick ? 1000 : 2000, payloadBytes, groups: run.groups, rate: run.rate },
    });
    await loader.next("connected", limit);
    server.send({ kind: "reset" });
    loader.send({ kind: "go" });
    const { result } = await loader.next("result", limit);
    server.send({ kind: "report" });
    const after = await server.next("report", 5_000);
    const operations = Math.max(result.operations, 1);
    return {
      scenario: run.id,
      target,
      operationsPerSecond: (result.operations / result.elapsedMs) * 1000,
      ...(result.p50 !== undefined ? { p50Ms: result.p50 / 1000, p99Ms: result.p99! / 1000, p999Ms: result.p999! / 1000 } : {}),
      serverCpuMicrosPerOp: after.cpuMicros / operations,
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

/** A target's server and loader, kept for a whole interleaved run, and what its slices add up to. */
interface Contender {
  target: TargetName;
  server: Child<ServerEvent, ServerCommand>;
  loader: Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>;
  operations: number;
  elapsedMs: number;
  cpuMicros: number;
  loaderCpuMs: number;
  last?: LoadResult;
  rssBytes: number;
  error?: string;
}

/**
 * Measures `targets` in turn: all start (and warm up) first, then each runs one slice of
 * `sliceMs` while the others idle, the order rotating every time, `slices` times. Totals make the
 * row: server CPU per operation over all of a target's slices, latency over all its calls.
 */
async function measureInterleaved(run: ScenarioRun, targets: TargetName[], slices: number): Promise<Row[]> {
  const contenders: Contender[] = [];
  const limit = sliceMs + 60_000;
  try {
    for (const target of targets) {
      const contender: Contender = {
        target,
        server: serverChild(target),
        loader: new Child("./loader-process.js", [], []),
        operations: 0,
        elapsedMs: 0,
        cpuMicros: 0,
        loaderCpuMs: 0,
        rssBytes: 0,
      };
      contenders.push(contender);
      await step(contender, async ({ server, loader }) => {
        const { port } = await server.next("ready", 15_000);
        loader.send({
          kind: "config",
          config: { target, scenario: run.scenario, port, connections: run.connections, inFlight: run.inFlight, durationMs: sliceMs, warmUpMs: quick ? 1000 : 2000, payloadBytes, groups: run.groups, rate: run.rate },
        });
        await loader.next("connected", limit);
      });
    }
    for (let slice = 0; slice < slices; slice++) {
      const last = slice === slices - 1;
      for (let i = 0; i < contenders.length; i++) {
        await step(contenders[(slice + i) % contenders.length]!, async (c) => {
          c.server.send({ kind: "reset" });
          c.loader.send({ kind: "go", partial: !last });
          if (run.scenario === "broadcast" || run.scenario === "groups") {
            c.server.send(
              run.scenario === "broadcast"
                ? { kind: "broadcast", rate: run.rate, durationMs: sliceMs }
                : { kind: "groups", groups: run.groups, rate: run.rate, durationMs: sliceMs },
            );
            const { sent } = await c.server.next("done", limit);
            const expected = run.scenario === "broadcast" ? sent * run.connections : groupDeliveries(sent, run.connections, run.groups);
            c.loader.send({ kind: "drain", expected, timeoutMs: drainTimeoutMs });
          }
          const { result } = await c.loader.next("result", limit);
          c.server.send({ kind: "report" });
          const report = await c.server.next("report", 5_000);
          c.operations += result.operations;
          c.elapsedMs += result.elapsedMs;
          c.cpuMicros += report.cpuMicros;
          c.loaderCpuMs += (result.loaderCpuPercent / 100) * result.elapsedMs;
          c.rssBytes = report.rssBytes;
          c.last = result;
        });
      }
    }
  } finally {
    for (const { server, loader } of contenders) {
      loader.kill();
      server.kill();
    }
  }
  return contenders.map((c): Row => {
    if (c.error || !c.last) {
      return { scenario: run.id, target: c.target, operationsPerSecond: 0, serverCpuMicrosPerOp: 0, serverRssMb: 0, loaderCpuPercent: 0, error: c.error ?? "not measured" };
    }
    const operations = Math.max(c.operations, 1);
    return {
      scenario: run.id,
      target: c.target,
      operationsPerSecond: (c.operations / c.elapsedMs) * 1000,
      p50Ms: c.last.p50! / 1000,
      p99Ms: c.last.p99! / 1000,
      p999Ms: c.last.p999! / 1000,
      serverCpuMicrosPerOp: c.cpuMicros / operations,
      serverRssMb: c.rssBytes / 1024 / 1024,
      loaderCpuPercent: (c.loaderCpuMs / c.elapsedMs) * 100,
    };
  });
}

/** Runs one step of a contender's run; a failure takes it out of the run (its row says why), not the others. */
async function step(contender: Contender, action: (contender: Contender) => Promise<void>): Promise<void> {
  if (contender.error) return;
  try {
    await action(contender);
  } catch (error) {
    contender.error = (error as Error).message;
    contender.loader.kill();
    contender.server.kill();
  }
}

/**
 * Deliveries of `sent` group sends, made to groups 0, 1, 2, ... in turn, where connection `i`
 * is in group `i % groups`.
 */
function groupDeliveries(sent: number, connections: number, groups: number): number {
  let total = 0;
  for (let group = 0; group < groups; group++) {
    const members = Math.floor(connections / groups) + (group < connections % groups ? 1 : 0);
    const sends = Math.floor(sent / groups) + (group < sent % groups ? 1 : 0);
    total += members * sends;
  }
  return total;
}
