import type { CodecRow } from "./codec.js";
import type { ScenarioRun } from "./scenarios.js";

/** One target's figures in one scenario. */
export interface Row {
  scenario: string;
  target: string;
  operationsPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  serverCpuMicrosPerOp: number;
  /** How many times the servers' event loops slept and woke, per operation (summed over a cluster's nodes). */
  serverWakeupsPerOp?: number;
  /** Runs on a cluster: the CPU of what its nodes share (their Redis, or a Node cluster's primary), per operation. */
  sharedCpuMicrosPerOp?: number;
  serverRssMb: number;
  /** Idle only: server memory (resident) per open connection. */
  kbPerConnection?: number;
  /** Idle only: of that, JavaScript heap per open connection. */
  heapKbPerConnection?: number;
  loaderCpuPercent: number;
  error?: string;
}

const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits));
/** A count per operation that may be far below one (a broadcast's wakeups per delivery): two significant digits there. */
const fmtCount = (value: number | undefined) => (value !== undefined && value > 0 && value < 0.1 ? value.toPrecision(2) : fmt(value, 2));
const ratio = (value: number | undefined, base: number | undefined) =>
  value === undefined || base === undefined || !base || Number.isNaN(value) ? "-" : `${(value / base).toFixed(2)}x`;

/** A Markdown table for one scenario, with ratios to the raw `ws` row (to one node's, in a cluster run). */
export function scenarioTable(run: ScenarioRun, rows: Row[]): string {
  const baseline = run.nodes ? "1 node" : "ws";
  const base = rows.find((r) => r.target === baseline && !r.error);
  const idle = run.scenario === "idle";
  const versus = `x ${baseline}`;
  const head = idle
    ? ["target", "conn/s", versus, "KB/conn", versus, "heap KB/conn", "server us/conn", "wakeups/conn", "loader CPU"]
    : ["target", `${plural(run.unit)}/s`, versus, "p50 ms", "p99 ms", "p99.9 ms", "server us/op", versus, ...(run.nodes ? ["wakeups/op", "backplane us/op"] : []), "server MB", "loader CPU"];
  const lines = rows.map((r) => {
    if (r.error) return [r.target, `failed: ${r.error}`, ...head.slice(2).map(() => "")];
    return idle
      ? [r.target, fmt(r.operationsPerSecond, 0), ratio(r.operationsPerSecond, base?.operationsPerSecond), fmt(r.kbPerConnection), ratio(r.kbPerConnection, base?.kbPerConnection), fmt(r.heapKbPerConnection), fmt(r.serverCpuMicrosPerOp), fmtCount(r.serverWakeupsPerOp), `${fmt(r.loaderCpuPercent, 0)}%`]
      : [
          r.target,
          fmt(r.operationsPerSecond, 0),
          ratio(r.operationsPerSecond, base?.operationsPerSecond),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          fmt(r.p999Ms, 2),
          fmt(r.serverCpuMicrosPerOp, 2),
          ratio(r.serverCpuMicrosPerOp, base?.serverCpuMicrosPerOp),
          ...(run.nodes ? [fmtCount(r.serverWakeupsPerOp), fmt(r.sharedCpuMicrosPerOp, 2)] : []),
          fmt(r.serverRssMb, 0),
          `${fmt(r.loaderCpuPercent, 0)}%`,
        ];
  });
  const settings = idle
    ? `${run.connections} connections`
    : run.scenario === "echo"
      ? `${run.connections} connections, ${run.durationMs / 1000} s`
      : run.scenario === "echo-rate"
        ? `${run.connections} connections, ${run.durationMs / 1000} s`
      : `${run.connections} connections, ${run.rate} sends/s, ${run.durationMs / 1000} s`;
  return [`### ${run.title} (${settings})`, "", markdown(head, lines)].join("\n");
}

export function codecTable(rows: CodecRow[]): string {
  return [
    "### encode / decode per message (in process)",
    "",
    markdown(
      ["message", "protocol", "bytes", "encode ns", "decode ns"],
      rows.map((r) => [r.message, r.protocol, String(r.bytes), fmt(r.encodeNs, 0), fmt(r.decodeNs, 0)]),
    ),
  ].join("\n");
}

function markdown(head: string[], lines: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [row(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(row)].join("\n");
}

function plural(unit: string): string {
  return unit.endsWith("y") ? `${unit.slice(0, -1)}ies` : `${unit}s`;
}
