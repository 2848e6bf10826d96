import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child } from "./child.js";
import { mainThreadCount, requireValgrind } from "./instructions.js";
import { serverOf, type LoaderCommand, type LoaderEvent, type ServerCommand, type ServerEvent, type TargetName } from "./protocol.js";

export interface DeliveryRow {
  target: TargetName;
  /** Messages delivered while instructions were counted: broadcasts times connections. */
  deliveries: number;
  /** How long the count ran, in ms. */
  countedMs: number;
  instructionsPerDelivery: number;
}

/** Broadcasts a second under valgrind: few enough that every target keeps up, slowed fifty times. */
const rate = 4;
/** Each phase (the warm-up, then the count) broadcasts for this long: 20 broadcasts. */
const phaseMs = 5_000;

/**
 * Server instructions per broadcast delivery, counted by valgrind's callgrind on the server's
 * main thread, as the count of accepts is (the engine's compiler threads left out). The server
 * broadcasts to `connections` connections `rate` times a second, for a warm-up and then for the
 * count; the loader's clients send no keep-alive pings, so that only deliveries are counted. It
 * covers user space only: a delivery's socket write in the kernel, the same for every target and
 * most of a delivery's CPU time, is not counted, so the ratios here are larger than CPU times'.
 */
export async function countDeliveryInstructions(targets: TargetName[], connections: number): Promise<DeliveryRow[]> {
  requireValgrind();
  const rows: DeliveryRow[] = [];
  for (const target of targets) rows.push(await countDeliveriesFor(target, connections));
  return rows;
}

async function countDeliveriesFor(target: TargetName, connections: number): Promise<DeliveryRow> {
  const dir = mkdtempSync(join(tmpdir(), "hubwire-callgrind-"));
  const log = join(dir, "valgrind.log");
  const valgrind = ["--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes", `--callgrind-out-file=${join(dir, "callgrind.out")}`, `--log-file=${log}`, process.execPath];
  const server = new Child<ServerEvent, ServerCommand>("./server-process.js", [serverOf[target]], valgrind, "valgrind");
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  const slow = 600_000; // everything is slow under valgrind
  const control = (...args: string[]) => execFileSync("callgrind_control", [...args, String(server.pid)], { stdio: "ignore" });
  /** One phase of broadcasts, all delivered: how many messages arrived. */
  const broadcasts = async (): Promise<number> => {
    loader.send({ kind: "go", partial: true });
    server.send({ kind: "broadcast", rate, durationMs: phaseMs });
    const { sent } = await server.next("done", slow);
    loader.send({ kind: "drain", expected: sent * connections, timeoutMs: slow });
    const { result } = await loader.next("result", slow);
    if (result.errors > 0) throw new Error(`${target}: ${result.errors} of ${sent * connections} broadcast messages never arrived`);
    return result.operations;
  };
  try {
    const { port } = await server.next("ready", 120_000);
    loader.send({
      kind: "config",
      config: { target, scenario: "broadcast", port, connections, inFlight: 0, durationMs: phaseMs, payloadBytes: 32, groups: 0, rate, keepAlive: false },
    });
    await loader.next("connected", slow);
    await broadcasts(); // the warm-up, not counted
    control("--zero");
    control("--instr=on");
    const started = performance.now();
    const deliveries = await broadcasts();
    const countedMs = performance.now() - started;
    control("--instr=off");
    const instructions = mainThreadCount(dir, () => control("--dump=deliveries"), `broadcast-${target}`);
    return { target, deliveries, countedMs, instructionsPerDelivery: instructions / Math.max(deliveries, 1) };
  } finally {
    loader.kill();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table of a count of deliveries: instructions per broadcast delivery and the ratio to raw ws. */
export function deliveryInstructionsTable(rows: DeliveryRow[]): string {
  const ws = rows.find((r) => r.target === "ws");
  return [
    "### server instructions per broadcast delivery, main thread (valgrind)",
    "",
    "| target | deliveries counted | counted for (s) | instructions per delivery | x ws |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.deliveries} | ${(r.countedMs / 1000).toFixed(1)} | ${Math.round(r.instructionsPerDelivery)} | ${ws ? `${(r.instructionsPerDelivery / ws.instructionsPerDelivery).toFixed(2)}x` : "-"} |`,
    ),
  ].join("\n");
}
