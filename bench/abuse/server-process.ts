import type { HubServerOptions } from "../../src/index.js";
import { startAbuseServer, hubStats, releaseHeldCalls } from "./abuse-hub.js";
import { settledMemory } from "./settled-memory.js";

// The attacked server of `npm run bench:abuse`, alone in its process so that what it measures is
// the server's own memory and CPU. Started with --expose-gc and the attack's server options as
// JSON; answers its parent over IPC.

export type AbuseServerCommand = { kind: "memory" } | { kind: "cpu"; ms: number } | { kind: "stats" } | { kind: "release" };
export type AbuseServerEvent =
  | { kind: "ready"; url: string }
  | { kind: "memory"; bytes: number; rss: number }
  | { kind: "cpu"; share: number }
  | { kind: "stats"; slowCalls: number; uploads: number; streams: number }
  | { kind: "released" };

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("the abuse server needs --expose-gc");
const reply = (event: AbuseServerEvent) => process.send!(event);

const { url } = await startAbuseServer(JSON.parse(process.argv[2] ?? "{}") as HubServerOptions);
process.on("message", async (command: AbuseServerCommand) => {
  switch (command.kind) {
    case "memory":
      return reply({ kind: "memory", ...(await settledMemory(gc)) });
    case "cpu": {
      const started = performance.now();
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, command.ms));
      const used = process.cpuUsage(before);
      return reply({ kind: "cpu", share: (used.user + used.system) / 1000 / (performance.now() - started) });
    }
    case "stats":
      return reply({ kind: "stats", ...hubStats });
    case "release":
      releaseHeldCalls();
      return reply({ kind: "released" });
  }
});
process.on("disconnect", () => process.exit(0));
reply({ kind: "ready", url });
