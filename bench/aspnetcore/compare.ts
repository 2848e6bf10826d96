import type { Row } from "../report.js";
import type { ScenarioRun } from "../scenarios.js";

const transports = ["json", "msgpack", "sse", "lp"];
const ratio = (value: number | undefined, base: number | undefined) => (value && base ? `${(value / base).toFixed(2)}x` : "-");

/**
 * One line per transport that both hubwire and ASP.NET Core ran in a scenario: hubwire's server
 * CPU per operation (or memory per idle connection) and throughput as ratios to ASP.NET Core's.
 * Empty when no pair ran.
 */
export function aspnetcoreComparison(run: ScenarioRun, rows: Row[]): string {
  const ok = (target: string) => rows.find((r) => r.target === target && !r.error);
  const lines: string[] = [];
  for (const transport of transports) {
    const hubwire = ok(`hubwire-${transport}`);
    const aspnetcore = ok(`aspnetcore-${transport}`);
    if (!hubwire || !aspnetcore) continue;
    lines.push(
      run.scenario === "idle"
        ? `- ${transport}: KB/conn ${ratio(hubwire.kbPerConnection, aspnetcore.kbPerConnection)}, conn/s ${ratio(hubwire.operationsPerSecond, aspnetcore.operationsPerSecond)}, server us/conn ${ratio(hubwire.serverCpuMicrosPerOp, aspnetcore.serverCpuMicrosPerOp)}`
        : `- ${transport}: server us/op ${ratio(hubwire.serverCpuMicrosPerOp, aspnetcore.serverCpuMicrosPerOp)}, ${run.unit === "call" ? "calls" : "deliveries"}/s ${ratio(hubwire.operationsPerSecond, aspnetcore.operationsPerSecond)}`,
    );
  }
  return lines.length > 0 ? ["hubwire / ASP.NET Core in this run:", ...lines].join("\n") : "";
}
