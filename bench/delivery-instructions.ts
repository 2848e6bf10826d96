import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child } from "./child.js";
import { mainThreadCount, requireValgrind } from "./instructions.js";
import { groupDeliveries } from "./interleaved.js";
import { serverOf, type LoaderCommand, type LoaderEvent, type ServerCommand, type ServerEvent, type TargetName } from "./protocol.js";

export interface DeliveryRow {
  target: TargetName;
  /** Messages delivered while instructions were counted: broadcasts times connections. */
  deliveries: number;
  /** How long the count ran, in ms. */
  countedMs: number;
  instructionsPerDelivery: number;
}

/** Each phase (the warm-up, then the count) sends for this long. */
const phaseMs = 5_000;

/** What is sent: broadcasts, or sends to groups of ten (`connections / 10` groups, each connection in one). */
export type PushKind = "broadcast" | "groups";

/**
 * Sends a second under valgrind, slowed some fifty times: few enough that every target keeps
 * up, 20 broadcasts or 1,000 group sends a phase.
 */
const rates: Record<PushKind, number> = { broadcast: 4, groups: 200 };

/**
 * Server instructions per delivery of a broadcast or a group send, counted by valgrind's
 * callgrind on the server's main thread, as the count of accepts is (the engine's compiler
 * threads left out). The server sends to `connections` connections at a fixed rate, for a
 * warm-up and then for the count; the loader's clients send no keep-alive pings, so that only
 * deliveries are counted. It
 * covers user space only: a delivery's socket write in the kernel, the same for every target and
 * most of a delivery's CPU time, is not counted, so the ratios here are larger than CPU times'.
 */
export async function countDeliveryInstructions(kind: PushKind, targets: TargetName[], connections: number): Promise<DeliveryRow[]> {
  requireValgrind();
  const rows: DeliveryRow[] = [];
  for (const target of targets) rows.push(await countDeliveriesFor(kind, target, connections));
  return rows;
}

async function countDeliveriesFor(kind: PushKind, target: TargetName, connections: number): Promise<DeliveryRow> {
  const rate = rates[kind];
  const groups = kind === "groups" ? Math.max(1, Math.floor(connections / 10)) : 0;
  const dir = mkdtempSync(join(tmpdir(), "hubwire-callgrind-"));
  const log = join(dir, "valgrind.log");
  const valgrind = ["--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes", `--callgrind-out-file=${join(dir, "callgrind.out")}`, `--log-file=${log}`, process.execPath];
  const server = new Child<ServerEvent, ServerCommand>("./server-process.js", [serverOf[target]], valgrind, "valgrind");
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const slow = 600_000; // everything is slow under valgrind
  const control = (...args: string[]) => execFileSync("callgrind_control", [...args, String(server.pid)], { stdio: "ignore" });
  /** One phase of sends, all delivered: how many messages arrived. */
  const sends = async (): Promise<number> => {
    loader.send({ kind: "go", partial: true });
    server.send(kind === "broadcast" ? { kind, rate, durationMs: phaseMs } : { kind, groups, rate, durationMs: phaseMs });
    const { sent } = await server.next("done", slow);
    const expected = kind === "broadcast" ? sent * connections : groupDeliveries(sent, connections, groups);
    loader.send({ kind: "drain", expected, timeoutMs: slow });
    const { result } = await loader.next("result", slow);
    if (result.errors > 0) throw new Error(`${target}: ${result.errors} of ${expected} messages never arrived`);
    return result.operations;
  };
  try {
    const { port } = await server.next("ready", 120_000);
    loader.send({
      kind: "config",
      config: { target, scenario: kind, port, connections, inFlight: 0, durationMs: phaseMs, payloadBytes: 32, groups, rate, keepAlive: false },
    });
    await loader.next("connected", slow);
    await sends(); // the warm-up, not counted
    control("--zero");
    control("--instr=on");
    const started = performance.now();
    const deliveries = await sends();
    const countedMs = performance.now() - started;
    control("--instr=off");
    const instructions = mainThreadCount(dir, () => control("--dump=deliveries"), `${kind}-${target}`);
    return { target, deliveries, countedMs, instructionsPerDelivery: instructions / Math.max(deliveries, 1) };
  } finally {
    loader.kill();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table of a count of deliveries: instructions per delivery and the ratio to raw ws. */
export function deliveryInstructionsTable(kind: PushKind, rows: DeliveryRow[]): string {
  const ws = rows.find((r) => r.target === "ws");
  return [
    `### server instructions per ${kind === "broadcast" ? "broadcast delivery" : "delivery of a send to a group of 10"}, main thread (valgrind)`,
    "",
    "| target | deliveries counted | counted for (s) | instructions per delivery | x ws |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.deliveries} | ${(r.countedMs / 1000).toFixed(1)} | ${Math.round(r.instructionsPerDelivery)} | ${ws ? `${(r.instructionsPerDelivery / ws.instructionsPerDelivery).toFixed(2)}x` : "-"} |`,
    ),
  ].join("\n");
}
