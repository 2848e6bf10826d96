import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
  requireValgrind();
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
    keepDump(join(dir, "callgrind.out"), target);
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
  /** How long the accepts took under valgrind, in ms. */
  countedMs: number;
}

/**
 * Server instructions per accepted connection (idle scenario): the WebSocket upgrade and, for a
 * hub, its handshake and onConnected. The loader opens three times `connections` connections
 * uncounted (the warm-up) and closes them, then opens `connections` more, sending no keep-alive
 * pings, while callgrind counts the server's main thread. Keep `connections` small enough that
 * this takes less than the server's keep-alive interval (15 s for hubwire) under valgrind, so no
 * ping is counted: 500 take some 10 s.
 */
export async function countAcceptInstructions(targets: TargetName[], connections: number): Promise<AcceptRow[]> {
  requireValgrind();
  const rows: AcceptRow[] = [];
  for (const target of targets) rows.push(await countAcceptsFor(target, connections));
  return rows;
}

async function countAcceptsFor(target: TargetName, connections: number): Promise<AcceptRow> {
  const dir = mkdtempSync(join(tmpdir(), "hubwire-callgrind-"));
  const log = join(dir, "valgrind.log");
  const out = join(dir, "callgrind.out");
  // Each thread counted apart: the engine's optimising compiler, which goes on compiling the accept
  // path on threads of its own well after thousands of accepts (half of all counted then, and not
  // the same half from one run to the next), is left out; the main thread does the accepting.
  const valgrind = ["--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes", `--callgrind-out-file=${out}`, `--log-file=${log}`, process.execPath];
  const server = new Child<ServerEvent, ServerCommand>("./server-process.js", [serverOf[target]], valgrind, "valgrind");
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const slow = 600_000; // everything is slow under valgrind
  const control = (...args: string[]) => execFileSync("callgrind_control", [...args, String(server.pid)], { stdio: "ignore" });
  try {
    const { port } = await server.next("ready", 120_000);
    const config = { target, scenario: "idle", port, connections, inFlight: 0, durationMs: 0, payloadBytes: 32, groups: 0, rate: 0 } as const;
    // The warm-up, not counted: three times as many, so that the accept path runs compiled.
    loader.send({ kind: "config", config: { ...config, connections: 3 * connections } });
    await loader.next("connected", slow);
    loader.send({ kind: "go" });
    await loader.next("result", slow);
    // Those connections go before the count: their keep-alive pings would be counted with it.
    loader.send({ kind: "close" });
    await loader.next("closed", slow);
    await until(() => server.send({ kind: "report" }), async () => (await server.next("report", slow)).connections === 0, slow);
    loader.send({ kind: "config", config: { ...config, keepAlive: false } });
    await loader.next("connected", slow);
    control("--zero");
    control("--instr=on");
    const started = performance.now();
    loader.send({ kind: "go" });
    const accepts = Math.max((await loader.next("result", slow)).result.operations, 1);
    const countedMs = performance.now() - started;
    control("--instr=off");
    const instructions = mainThreadCount(dir, () => control("--dump=accepts"), `accept-${target}`);
    return { target, accepts, instructionsPerAccept: instructions / accepts, countedMs };
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
    "### server instructions per accepted connection, main thread (valgrind)",
    "",
    "| target | accepts counted | counted for (s) | instructions per accept | x ws |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.accepts} | ${(r.countedMs / 1000).toFixed(1)} | ${Math.round(r.instructionsPerAccept)} | ${ws ? `${(r.instructionsPerAccept / ws.instructionsPerAccept).toFixed(2)}x` : "-"} |`,
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

/** Asks (`ask`) until `done` says yes, for at most `ms`. */
async function until(ask: () => void, done: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    ask();
    if (await done()) return;
    if (Date.now() > deadline) throw new Error("the server kept its connections");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Fails with what to install where valgrind is missing. */
export function requireValgrind(): void {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("--instructions needs valgrind (apt-get install -y valgrind)");
  }
}

/**
 * The instructions of the server's main thread since its count was zeroed, from the dump that
 * `dump` has callgrind write into `dir` (run with --separate-threads=yes).
 */
export function mainThreadCount(dir: string, dump: () => void, name: string): number {
  const before = new Set(readdirSync(dir));
  dump();
  // The main thread's dump: "-01" ends its name.
  const file = readdirSync(dir).find((f) => f.startsWith("callgrind.out") && f.endsWith("-01") && !before.has(f));
  if (!file) throw new Error(`callgrind wrote no dump for ${name}`);
  keepDump(join(dir, file), name);
  // The totals line ends the dump ("summary" at its head reads 0 after --zero).
  const totals = /^totals: (\d+)/m.exec(readFileSync(join(dir, file), "utf8"));
  if (!totals) throw new Error(`callgrind's dump for ${name} has no totals`);
  return Number(totals[1]);
}

/**
 * With HUBWIRE_CALLGRIND_KEEP naming a folder, a count's dump is kept there as
 * `callgrind.out.<name>`, for callgrind_annotate (with NODE_OPTIONS=--perf-basic-prof, node's
 * /tmp/perf-<pid>.map names the JIT code's addresses).
 */
function keepDump(file: string, name: string): void {
  const keep = process.env.HUBWIRE_CALLGRIND_KEEP;
  if (keep) copyFileSync(file, join(keep, `callgrind.out.${name}`));
}
