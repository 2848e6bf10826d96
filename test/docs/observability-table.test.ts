import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { attributeNames, metricNames, spanEvents } from "../../src/telemetry/telemetry-names.js";
import type { LogEvent } from "../../src/logger.js";
import { serverLog } from "../../src/server-log.js";
import { transportLog } from "../../src/transports/transport-log.js";
import { multiplexLog } from "../../src/transports/multiplex-log.js";
import { dispatchLog } from "../../src/dispatch/dispatch-log.js";
import { lifetimeLog } from "../../src/lifetime/lifetime-log.js";
import { redisLog } from "../../src/redis/redis-log.js";
import { telemetryLog } from "../../src/telemetry/telemetry-log.js";
import { dashboardLog } from "../../src/dashboard/dashboard-log.js";
import { clusterLog } from "../../src/cluster/cluster-log.js";

const docs = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");

describe("docs/observability.md", () => {
  it("has one row per metric hubwire reports, and no other", () => {
    const rows = [...docs.matchAll(/^\| `([a-z_.]+)` \| [a-z -]+ \| `[^`]+` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(Object.values(metricNames).sort());
  });

  it("names every attribute and span event hubwire reports", () => {
    for (const name of [...Object.values(attributeNames), ...Object.values(spanEvents)]) expect(docs).toContain(`\`${name}\``);
  });

  it("has one row per warning and error line hubwire logs, and no other", () => {
    const layers: Array<Readonly<Record<string, LogEvent>>> = [serverLog, transportLog, multiplexLog, dispatchLog, lifetimeLog, redisLog, clusterLog, telemetryLog, dashboardLog];
    const lines = layers.flatMap((events) => Object.values(events)).filter((event) => event.level === "warn" || event.level === "error");
    const section = docs.slice(docs.indexOf("## Warnings and errors in the log"), docs.indexOf("## The live dashboard"));
    const rows = [...section.matchAll(/^\| (.+?) \| (warn|error) \|/gm)].map((m) => `${m[2]} ${m[1]}`);
    expect(rows.sort()).toEqual(lines.map((event) => `${event.level} ${event.message}`).sort());
  });
});
