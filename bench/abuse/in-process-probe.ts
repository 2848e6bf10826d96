import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { hubStats, releaseHeldCalls } from "./abuse-hub.js";
import type { ServerProbe } from "./attacks.js";
import { settledMemory } from "./settled-memory.js";

v8.setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

/**
 * A probe of a server in this very process (the tests). What it measures includes the attacking
 * clients, which are written to hold next to nothing: they send only what the server takes, and
 * share one copy of any large body.
 */
export const inProcessProbe: ServerProbe = {
  async memory() {
    return (await settledMemory(gc)).bytes;
  },
  async rss() {
    return process.memoryUsage().rss;
  },
  async cpu(ms) {
    const started = performance.now();
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / (performance.now() - started);
  },
  async stats() {
    return { ...hubStats };
  },
  async release() {
    releaseHeldCalls();
  },
};
