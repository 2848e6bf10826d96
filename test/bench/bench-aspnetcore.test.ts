import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProject, dotnetMissingFor } from "../reference/dotnet.mjs";
import { tempFile } from "../support/temp-files.js";

// Run by `npm run test:long`, on dist/ built once by its global setup: the bench's ASP.NET Core
// SignalR targets (bench/aspnetcore) next to hubwire's, in a tiny run. No speed is asserted.

const root = fileURLToPath(new URL("../..", import.meta.url));
const missing = dotnetMissingFor("the ASP.NET Core bench targets");

type Row = { target: string; operationsPerSecond: number; serverCpuMicrosPerOp: number; serverRssMb: number; p50Ms?: number; p99Ms?: number; kbPerConnection?: number; error?: string };
type Report = { results: Record<string, Row[]>; leftOut?: { targets: string[]; reason: string } };

async function bench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ report: Report; stdout: string }> {
  const out = tempFile("result.json");
  const { stdout } = await promisify(execFile)(process.execPath, ["dist/bench/run.js", "--quick", ...args, "--json", out], { cwd: root, env, timeout: 150_000 });
  return { report: JSON.parse(readFileSync(out, "utf8")) as Report, stdout };
}

describe.skipIf(missing)(`the bench's ASP.NET Core targets${missing ? ` (skipped: ${missing})` : ""}`, () => {
  beforeAll(() => buildProject(join(root, "bench/aspnetcore")), 600_000);

  it("measure every SignalR scenario side by side with hubwire, on every transport", async () => {
    const { report, stdout } = await bench([
      "--scenario", "echo-1,broadcast-1000,groups,idle",
      "--targets", "hubwire-json,aspnetcore-json,aspnetcore-msgpack,aspnetcore-sse,aspnetcore-lp",
      "--duration", "1", "--connections", "20", "--repeat", "2",
    ]);
    const targets = (scenario: string) => report.results[scenario]!.map((r) => r.target);
    expect(targets("echo-1")).toEqual(["hubwire-json", "aspnetcore-json", "aspnetcore-msgpack"]);
    expect(targets("broadcast-1000")).toEqual(["hubwire-json", "aspnetcore-json", "aspnetcore-msgpack", "aspnetcore-sse", "aspnetcore-lp"]);
    expect(targets("groups")).toEqual(["hubwire-json", "aspnetcore-json", "aspnetcore-msgpack"]);
    expect(targets("idle")).toEqual(["hubwire-json", "aspnetcore-json", "aspnetcore-sse", "aspnetcore-lp"]);
    for (const [scenario, rows] of Object.entries(report.results)) {
      for (const row of rows) {
        const name = `${scenario} ${row.target}`;
        expect(row.error, `${name}: ${row.error}`).toBeUndefined();
        expect(row.operationsPerSecond, name).toBeGreaterThan(0);
        // Measured in the .NET process itself: CPU time spent, and a runtime's worth of memory.
        expect(row.serverCpuMicrosPerOp, name).toBeGreaterThan(0);
        expect(row.serverRssMb, name).toBeGreaterThan(10);
        if (scenario === "idle") {
          expect(Number.isFinite(row.kbPerConnection), name).toBe(true);
        } else {
          expect(row.p50Ms, name).toBeGreaterThan(0);
          expect(row.p99Ms, name).toBeGreaterThanOrEqual(row.p50Ms!);
        }
      }
    }
    expect(stdout).toContain("hubwire / ASP.NET Core in this run:\n- json: server us/op ");
    expect(report.leftOut).toBeUndefined();
  }, 180_000);
});

describe("the bench without .NET", () => {
  it("leaves the ASP.NET Core targets out and says why", async () => {
    // No PATH: no dotnet to find (the bench's own processes are forked from node's full path).
    const { report, stdout } = await bench(["--scenario", "echo-1", "--targets", "hubwire-json,aspnetcore-json", "--duration", "1", "--connections", "2"], { ...process.env, PATH: "" });
    expect(stdout).toMatch(/ASP\.NET Core targets left out \(aspnetcore-json\): the \.NET SDK is not installed/);
    expect(report.leftOut?.targets).toEqual(["aspnetcore-json"]);
    expect(report.results["echo-1"]!.map((r) => r.target)).toEqual(["hubwire-json"]);
    expect(report.results["echo-1"]![0]!.error).toBeUndefined();
  }, 180_000);
});
