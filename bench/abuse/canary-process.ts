import { Canary } from "./canary.js";

// The canary of `npm run bench:abuse`, in a process of its own: `node canary-process.js <hub url>`.
// Sends { kind: "ready" } once connected, and its latencies when told { kind: "stop" }.

export type CanaryCommand = { kind: "stop" };
export type CanaryEvent = { kind: "ready" } | { kind: "stopped"; calls: number; p99: number; max: number };

const canary = await Canary.start(process.argv[2]!);
process.on("message", async (command: CanaryCommand) => {
  if (command.kind !== "stop") return;
  process.send!({ kind: "stopped", ...(await canary.stop()) } satisfies CanaryEvent);
});
process.on("disconnect", () => process.exit(0));
process.send!({ kind: "ready" } satisfies CanaryEvent);
