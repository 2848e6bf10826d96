import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempFile } from "../support/temp-files.js";

// Run by `npm run test:long` (vitest.long.config.ts), on dist/ built once by its global setup.

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the bench harness", () => {
  it("runs a tiny configuration and reports figures for every target (no speed is asserted)", async () => {
    const out = tempFile("result.json");
    await promisify(execFile)(
      "node",
      ["dist/bench/run.js", "--quick", "--scenario", "echo-1,broadcast-1000,groups,codec", "--targets", "ws,ws-naive,socketio,hubwire-json,hubwire-msgpack,hubwire-lp", "--duration", "2", "--connections", "5", "--json", out],
      { cwd: root, timeout: 120_000 },
    );
    type Row = { target: string; operationsPerSecond: number; serverCpuMicrosPerOp: number; p50Ms?: number; p99Ms?: number; error?: string };
    const report = JSON.parse(readFileSync(out, "utf8")) as { results: Record<string, Row[]>; codec: Array<{ protocol: string; bytes: number }> };
    expect(report.results["echo-1"]!.map((r) => r.target)).toEqual(["ws", "ws-naive", "socketio", "hubwire-json", "hubwire-msgpack"]);
    // ws-naive is in the echo and group scenarios only: its pushes add nothing group sends do not show.
    expect(report.results["broadcast-1000"]!.map((r) => r.target)).toEqual(["ws", "socketio", "hubwire-json", "hubwire-msgpack", "hubwire-lp"]);
    expect(report.results.groups!.map((r) => r.target)).toEqual(["ws", "ws-naive", "socketio", "hubwire-json", "hubwire-msgpack"]);
    // Each target ran two one-second slices in turn with the others; latency covers both.
    for (const row of [...report.results["echo-1"]!, ...report.results["broadcast-1000"]!, ...report.results.groups!]) {
      expect(row.error, `${row.target}: ${row.error}`).toBeUndefined();
      expect(row.operationsPerSecond).toBeGreaterThan(0);
      expect(row.serverCpuMicrosPerOp).toBeGreaterThan(0);
      expect(row.p50Ms).toBeGreaterThan(0);
      expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms!);
    }
    expect(report.codec.map((c) => c.protocol)).toContain("messagepack");
  }, 150_000);

  it("runs the cluster scenarios tiny: 1, 2 and 3 nodes, and 2 and 3 workers of a Node cluster, with server CPU summed over the nodes and the backplane's apart", async () => {
    const out = tempFile("nodes.json");
    const scenarios = ["nodes-broadcast", "nodes-groups", "nodes-direct", "nodes-routed"];
    await promisify(execFile)("node", ["dist/bench/run.js", "--quick", "--scenario", scenarios.join(","), "--duration", "1", "--connections", "6", "--json", out], {
      cwd: root,
      timeout: 240_000,
    });
    type Row = { target: string; operationsPerSecond: number; serverCpuMicrosPerOp: number; serverWakeupsPerOp?: number; sharedCpuMicrosPerOp?: number; p50Ms?: number; p99Ms?: number; error?: string };
    const report = JSON.parse(readFileSync(out, "utf8")) as { wakeupCostMicros: number; results: Record<string, Row[]> };
    expect(Object.keys(report.results)).toEqual(scenarios);
    expect(report.wakeupCostMicros).toBeGreaterThan(0);
    for (const scenario of scenarios) {
      const rows = report.results[scenario]!;
      expect(rows.map((r) => r.target)).toEqual(["1 node", "2 nodes", "2 workers (node:cluster)", "3 nodes", "3 workers (node:cluster)"]);
      for (const row of rows) {
        expect(row.error, `${scenario}, ${row.target}: ${row.error}`).toBeUndefined();
        expect(row.operationsPerSecond).toBeGreaterThan(0);
        expect(row.serverCpuMicrosPerOp).toBeGreaterThan(0);
        // Linux counts them; the nodes sleep between the loader's calls or their own timed sends.
        expect(row.serverWakeupsPerOp).toBeGreaterThan(0);
        expect(row.p50Ms).toBeGreaterThan(0);
        expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms!);
        // One node runs without a backplane; a cluster's Redis, or its primary that relays, is measured with it.
        if (row.target === "1 node") expect(row.sharedCpuMicrosPerOp).toBeUndefined();
        else if (row.target.includes("node:cluster")) expect(row.sharedCpuMicrosPerOp).toBeGreaterThan(0);
        else expect(row.sharedCpuMicrosPerOp).toBeGreaterThanOrEqual(0);
      }
    }
  }, 270_000);

  it("opens idle connections and reports their rate, memory and the server's CPU and wakeups per connection (no figure is asserted)", async () => {
    const out = tempFile("idle.json");
    await promisify(execFile)("node", ["dist/bench/run.js", "--scenario", "idle", "--targets", "ws,hubwire-json", "--connections", "40", "--repeat", "1", "--json", out], {
      cwd: root,
      timeout: 120_000,
    });
    type Row = { target: string; operationsPerSecond: number; serverCpuMicrosPerOp: number; serverWakeupsPerOp?: number; kbPerConnection?: number; heapKbPerConnection?: number; error?: string };
    const report = JSON.parse(readFileSync(out, "utf8")) as { results: { idle: Row[] } };
    expect(report.results.idle.map((r) => r.target)).toEqual(["ws", "hubwire-json"]);
    for (const row of report.results.idle) {
      expect(row.error, `${row.target}: ${row.error}`).toBeUndefined();
      expect(row.operationsPerSecond).toBeGreaterThan(0);
      expect(row.serverCpuMicrosPerOp).toBeGreaterThan(0);
      expect(row.serverWakeupsPerOp).toBeGreaterThan(0);
      expect(row.kbPerConnection).toBeTypeOf("number");
      expect(row.heapKbPerConnection).toBeTypeOf("number");
    }
  }, 150_000);

  it("measures crash recovery at rest: checkpoints flow into Redis only with recovery on (no speed is asserted)", async () => {
    const out = tempFile("recovery.json");
    await promisify(execFile)("node", ["dist/bench/recovery-cost.js", "--connections", "20", "--seconds", "2", "--rounds", "1", "--json", out], { cwd: root, timeout: 120_000 });
    type Turn = { recovery: boolean; holderMs: number; standbyMs: number; redisMs: number; redisInBytes: number };
    const { turns } = JSON.parse(readFileSync(out, "utf8")) as { turns: Turn[] };
    expect(turns.map((t) => t.recovery)).toEqual([false, true]);
    for (const turn of turns) expect(turn.holderMs).toBeGreaterThan(0);
    // 20 connections checkpointed once a second, each a publish of a few hundred bytes.
    expect(turns[1]!.redisInBytes).toBeGreaterThan(turns[0]!.redisInBytes + 20 * 100);
  }, 150_000);

  it("counts server instructions per call under valgrind (no count is asserted)", async () => {
    const out = tempFile("instructions.json");
    await promisify(execFile)("node", ["dist/bench/run.js", "--instructions", "--targets", "ws,hubwire-json", "--calls", "500", "--connections", "2", "--json", out], {
      cwd: root,
      timeout: 150_000,
    });
    const report = JSON.parse(readFileSync(out, "utf8")) as { instructions: Array<{ target: string; calls: number; instructionsPerCall: number }> };
    expect(report.instructions.map((r) => r.target)).toEqual(["ws", "hubwire-json"]);
    for (const row of report.instructions) {
      expect(row.calls).toBe(500);
      expect(row.instructionsPerCall).toBeGreaterThan(1000);
    }
  }, 180_000);

  it("counts server instructions per accepted connection under valgrind (no count is asserted)", async () => {
    const out = tempFile("accepts.json");
    await promisify(execFile)("node", ["dist/bench/run.js", "--instructions", "--scenario", "idle", "--targets", "ws,hubwire-json", "--connections", "50", "--json", out], {
      cwd: root,
      timeout: 150_000,
    });
    const report = JSON.parse(readFileSync(out, "utf8")) as { acceptInstructions: Array<{ target: string; accepts: number; instructionsPerAccept: number }> };
    expect(report.acceptInstructions.map((r) => r.target)).toEqual(["ws", "hubwire-json"]);
    for (const row of report.acceptInstructions) {
      expect(row.accepts).toBe(50);
      expect(row.instructionsPerAccept).toBeGreaterThan(10_000);
    }
  }, 180_000);

  it.each([
    ["broadcast-1000", ["ws", "hubwire-json", "hubwire-mux-msgpack"]],
    ["groups", ["ws", "hubwire-msgpack"]],
  ])("counts server instructions per delivery of %s under valgrind (no count is asserted)", async (scenario, targets) => {
    const out = tempFile("deliveries.json");
    await promisify(execFile)("node", ["dist/bench/run.js", "--instructions", "--scenario", scenario, "--targets", targets.join(","), "--connections", "20", "--json", out], {
      cwd: root,
      timeout: 150_000,
    });
    const report = JSON.parse(readFileSync(out, "utf8")) as { deliveryInstructions: Array<{ target: string; deliveries: number; instructionsPerDelivery: number }> };
    expect(report.deliveryInstructions.map((r) => r.target)).toEqual(targets);
    for (const row of report.deliveryInstructions) {
      // Every send of the counted phase reached all its recipients: whole broadcasts, or whole
      // sends to the two groups of ten.
      expect(row.deliveries % 10).toBe(0);
      expect(row.deliveries).toBeGreaterThan(0);
      expect(row.instructionsPerDelivery).toBeGreaterThan(500);
    }
  }, 180_000);

  it("names what an idle connection holds in the heap, by kind (no size is asserted)", async () => {
    const { stdout } = await promisify(execFile)("node", ["dist/bench/idle-heap.js", "--targets", "ws,hubwire-json", "--connections", "200", "--top", "40"], {
      cwd: root,
      timeout: 150_000,
    });
    expect(stdout).toMatch(/### ws: \d+ bytes of JavaScript heap per idle connection/);
    expect(stdout).toMatch(/### hubwire-json: \d+ bytes of JavaScript heap per idle connection/);
    // hubwire's own objects are named, one of each per connection.
    expect(stdout).toMatch(/\| object \| HubConnection \| 1\.00 \|/);
  }, 180_000);

  it("does so on a node of a cluster, on a Redis of its own, with --scale-out", async () => {
    const { stdout } = await promisify(execFile)("node", ["dist/bench/idle-heap.js", "--targets", "hubwire-json", "--connections", "200", "--top", "40", "--scale-out"], {
      cwd: root,
      timeout: 150_000,
    });
    expect(stdout).toMatch(/### hubwire-json \(a cluster's node\): \d+ bytes of JavaScript heap per idle connection/);
    expect(stdout).toMatch(/\| object \| HubConnection \| 1\.00 \|/);
  }, 180_000);
});
