import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child } from "./child.js";
import { serverOf, type LoaderCommand, type LoaderEvent, type ServerCommand, type ServerEvent, type TargetName } from "./protocol.js";

export interface InstructionRow {
  target: TargetName;
  /** Echo calls made while instructions were counted. */
  calls: number;
  /** How long the count ran, in ms: valgrind slows a server some fifty times. */
  countedMs: number;
  instructionsPerCall: number;
}

/**
 * Server instructions per echo call (one call in flight per connection), counted by valgrind's
 * callgrind. Unlike CPU time the count does not move with what else the host is doing, only
 * (by a few percent) between server processes, so the lowest of a few counts shows a change that
 * timings wandering by 30 % would hide. It covers what the server process
 * executes in user space (the kernel's socket work is not counted), over `calls` calls made after
 * as many uncounted ones: a warm-up counted in calls, not seconds, so that the JIT has reached the
 * same point whatever the host's speed.
 */
export async function countInstructions(targets: TargetName[], calls: number, connections: number): Promise<InstructionRow[]> {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("--instructions needs valgrind (apt-get install -y valgrind)");
  }
  const rows: InstructionRow[] = [];
  for (const target of targets) rows.push(await countFor(target, calls, connections));
  return rows;
}

async function countFor(target: TargetName, maxCalls: number, connections: number): Promise<InstructionRow> {
  const dir = mkdtempSync(join(tmpdir(), "hubwire-callgrind-"));
  const log = join(dir, "valgrind.log");
  const valgrind = ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${join(dir, "callgrind.out")}`, `--log-file=${log}`, process.execPath];
  const server = new Child<ServerEvent, ServerCommand>("./server-process.js", [serverOf[target]], valgrind, "valgrind");
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const slow = 120_000; // everything is slow under valgrind
  const durationMs = 600_000; // a cap: each phase ends after maxCalls calls
  try {
    const { port } = await server.next("ready", slow);
    loader.send({ kind: "config", config: { target, scenario: "echo", port, connections, inFlight: 1, durationMs, maxCalls, payloadBytes: 32, groups: 0, rate: 0 } });
    await loader.next("connected", slow);
    loader.send({ kind: "go" }); // the warm-up, not counted
    await loader.next("result", durationMs + slow);
    execFileSync("callgrind_control", ["--instr=on", String(server.pid)], { stdio: "ignore" });
    const countingSince = performance.now();
    loader.send({ kind: "go" });
    const { result } = await loader.next("result", durationMs + slow);
    execFileSync("callgrind_control", ["--instr=off", String(server.pid)], { stdio: "ignore" });
    const countedMs = performance.now() - countingSince;
    loader.kill();
    await server.stop(slow); // callgrind writes its totals as the process exits
    const collected = /Collected : (\d+)/.exec(readFileSync(log, "utf8"));
    if (!collected) throw new Error(`callgrind reported no count for ${target}`);
    const calls = Math.max(result.operations, 1);
    return { target, calls, countedMs, instructionsPerCall: Number(collected[1]) / calls };
  } finally {
    loader.kill();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface AcceptRow {
  target: TargetName;
  /** Connections opened while instructions were counted. */
  accepts: number;
  instructionsPerAccept: number;
  /** The loader's own CPU time per connection it opened (µs), to see that it does no more for one target than the protocol asks. */
  loaderMicrosPerAccept: number;
}

/**
 * Server instructions per accepted connection (idle scenario): the WebSocket upgrade and, for a
 * hub, its handshake and onConnected. The loader opens `connections` connections uncounted (the
 * warm-up), then as many more while callgrind counts; all stay open.
 */
export async function countAcceptInstructions(targets: TargetName[], connections: number): Promise<AcceptRow[]> {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("--instructions needs valgrind (apt-get install -y valgrind)");
  }
  const rows: AcceptRow[] = [];
  for (const target of targets) rows.push(await countAcceptsFor(target, connections));
  return rows;
}

async function countAcceptsFor(target: TargetName, connections: number): Promise<AcceptRow> {
  const dir = mkdtempSync(join(tmpdir(), "hubwire-callgrind-"));
  const log = join(dir, "valgrind.log");
  const keep = process.env.HUBWIRE_CALLGRIND_KEEP; // a folder: the count's callgrind file is kept there, for callgrind_annotate
  const out = keep ? join(keep, `callgrind.out.accept-${target}`) : join(dir, "callgrind.out");
  const valgrind = ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${out}`, `--log-file=${log}`, process.execPath];
  const server = new Child<ServerEvent, ServerCommand>("./server-process.js", [serverOf[target]], valgrind, "valgrind");
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const slow = 600_000; // everything is slow under valgrind
  try {
    const { port } = await server.next("ready", 120_000);
    loader.send({ kind: "config", config: { target, scenario: "idle", port, connections, inFlight: 0, durationMs: 0, payloadBytes: 32, groups: 0, rate: 0 } });
    await loader.next("connected", slow);
    loader.send({ kind: "go" }); // the warm-up, not counted
    await loader.next("result", slow);
    execFileSync("callgrind_control", ["--instr=on", String(server.pid)], { stdio: "ignore" });
    loader.send({ kind: "go" });
    const { result } = await loader.next("result", slow);
    execFileSync("callgrind_control", ["--instr=off", String(server.pid)], { stdio: "ignore" });
    loader.kill();
    await server.stop(slow); // callgrind writes its totals as the process exits
    const collected = /Collected : (\d+)/.exec(readFileSync(log, "utf8"));
    if (!collected) throw new Error(`callgrind reported no count for ${target}`);
    const accepts = Math.max(result.operations, 1);
    const loaderMicros = (result.loaderCpuPercent / 100) * result.elapsedMs * 1000;
    return { target, accepts, instructionsPerAccept: Number(collected[1]) / accepts, loaderMicrosPerAccept: loaderMicros / accepts };
  } finally {
    loader.kill();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table of a count of accepts: instructions per accepted connection and the ratio to raw ws. */
export function acceptInstructionsTable(rows: AcceptRow[]): string {
  const ws = rows.find((r) => r.target === "ws");
  return [
    "### server instructions per accepted connection (valgrind)",
    "",
    "| target | accepts counted | instructions per accept | x ws | loader µs per connection | x ws |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.accepts} | ${Math.round(r.instructionsPerAccept)} | ${ws ? `${(r.instructionsPerAccept / ws.instructionsPerAccept).toFixed(2)}x` : "-"} | ${r.loaderMicrosPerAccept.toFixed(0)} | ${ws ? `${(r.loaderMicrosPerAccept / ws.loaderMicrosPerAccept).toFixed(2)}x` : "-"} |`,
    ),
  ].join("\n");
}

/** The table of a count: instructions per call and the ratio to raw ws. */
export function instructionsTable(rows: InstructionRow[]): string {
  const ws = rows.find((r) => r.target === "ws")?.instructionsPerCall;
  const lines = [
    "### server instructions per echo call, 1 call in flight (valgrind)",
    "",
    "| target | calls counted | counted for (s) | instructions per call | x ws |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.calls} | ${(r.countedMs / 1000).toFixed(1)} | ${Math.round(r.instructionsPerCall)} | ${ws ? `${(r.instructionsPerCall / ws).toFixed(2)}x` : "-"} |`,
    ),
  ];
  return lines.join("\n");
}
