import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { closed, within } from "../interop/fixture.js";

// Both tests run built code from dist/, so they live in one file: they run one after the other
// and never rebuild dist/ under each other's feet.

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the interop sample as a process", () => {
  it("starts with `npm run sample:interop`, prints its URL, and stops cleanly on SIGTERM", async () => {
    const child = spawn("npm", ["run", "--silent", "sample:interop"], {
      cwd: root,
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let output = "";
      const url = await within(
        new Promise<string>((resolve) => {
          child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
            if (match) resolve(match[1]!);
          });
        }),
        "the sample to print its URL",
        90_000,
      );
      const client = new HubConnectionBuilder().withUrl(`${url}/testhub`).configureLogging(LogLevel.None).build();
      await client.start();
      expect(await client.invoke("Echo", "up")).toBe("up");
      const end = closed(client);
      child.kill("SIGTERM");
      expect(await end).toBeUndefined(); // told with a Close message, no error
      expect(await within(exited, "the process to exit", 10_000)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 120_000);
});

describe("the bench harness", () => {
  it("runs a tiny configuration and reports figures for every target (no speed is asserted)", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "hubwire-bench-")), "result.json");
    await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: root, timeout: 90_000 });
    await promisify(execFile)(
      "node",
      ["dist/bench/run.js", "--quick", "--scenario", "echo-1,broadcast-1000,codec", "--targets", "ws,socketio,hubwire-json,hubwire-lp", "--duration", "1", "--connections", "5", "--json", out],
      { cwd: root, timeout: 90_000 },
    );
    const report = JSON.parse(readFileSync(out, "utf8")) as {
      results: Record<string, Array<{ target: string; operationsPerSecond: number; serverCpuMicrosPerOp: number; error?: string }>>;
      codec: Array<{ protocol: string; bytes: number }>;
    };
    expect(report.results["echo-1"]!.map((r) => r.target)).toEqual(["ws", "socketio", "hubwire-json"]);
    expect(report.results["broadcast-1000"]!.map((r) => r.target)).toEqual(["ws", "socketio", "hubwire-json", "hubwire-lp"]);
    for (const row of [...report.results["echo-1"]!, ...report.results["broadcast-1000"]!]) {
      expect(row.error, `${row.target}: ${row.error}`).toBeUndefined();
      expect(row.operationsPerSecond).toBeGreaterThan(0);
      expect(row.serverCpuMicrosPerOp).toBeGreaterThan(0);
    }
    expect(report.codec.map((c) => c.protocol)).toContain("messagepack");
  }, 120_000);
});

describe("the codegen command", () => {
  it("exits 0 when the generated clients are current and 1 with ERR_CODEGEN_STALE when not", async () => {
    await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: root, timeout: 90_000 });
    const cli = (args: string[]) =>
      promisify(execFile)("node", ["dist/src/codegen/cli.js", "codegen", ...args], { cwd: root }).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code: number; stderr: string }) => ({ code: error.code, output: error.stderr }),
      );
    const current = await cli(["samples/notifications/notification-hub.ts", "--out", "samples/notifications/web/generated", "--client-import", "../../../../client/index.js", "--check"]);
    expect(current).toEqual({ code: 0, output: "generated clients are up to date\n" });
    const empty = mkdtempSync(join(tmpdir(), "hubwire-codegen-"));
    const stale = await cli(["samples/notifications/notification-hub.ts", "--out", empty, "--check"]);
    expect(stale.code).toBe(1);
    expect(stale.output).toMatch(/^ERR_CODEGEN_STALE: Generated clients are out of date: /);
  }, 120_000);
});
