import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { attributeNames, metricNames, spanEvents } from "../../src/telemetry/telemetry-names.js";

const docs = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");

describe("docs/observability.md", () => {
  it("has one row per metric hubwire reports, and no other", () => {
    const rows = [...docs.matchAll(/^\| `([a-z_.]+)` \| [a-z -]+ \| `[^`]+` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(Object.values(metricNames).sort());
  });

  it("names every attribute and span event hubwire reports", () => {
    for (const name of [...Object.values(attributeNames), ...Object.values(spanEvents)]) expect(docs).toContain(`\`${name}\``);
  });
});
