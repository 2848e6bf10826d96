import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInteropServer, type InteropServer } from "../../samples/interop-server/app.js";
import { silentLogger } from "../../src/index.js";
import { comparable, differences, expectedOf, type Difference } from "./differences.js";
import { families } from "./exchanges/index.js";
import { runAll, type Transcripts } from "./run-all.js";
import type { ServerVariant } from "./script.js";
import { hubwireOptions } from "./variants.js";

// Replays every recorded exchange (ASP.NET Core SignalR's answers, recordings/) against hubwire's
// interop server and compares transcript by transcript; differences.ts lists what may differ.

const recordings = join(fileURLToPath(new URL(".", import.meta.url)), "recordings");
const variants = Object.keys(hubwireOptions) as ServerVariant[];
const servers: InteropServer[] = [];
let actual: Transcripts;

beforeAll(async () => {
  servers.push(...(await Promise.all(variants.map((v) => startInteropServer(0, { logger: silentLogger, ...hubwireOptions[v] })))));
  actual = await runAll(Object.fromEntries(variants.map((v, i) => [v, servers[i]!.url])) as Record<ServerVariant, string>);
  // CONFORMANCE_ACTUAL=<file> keeps hubwire's transcripts, to study a difference at leisure.
  if (process.env.CONFORMANCE_ACTUAL) writeFileSync(process.env.CONFORMANCE_ACTUAL, JSON.stringify(actual, null, 2));
  if (process.env.CONFORMANCE_EXPECTED) {
    const expected: Transcripts = {};
    for (const family of Object.keys(families)) {
      const recorded = JSON.parse(readFileSync(join(recordings, `${family}.json`), "utf8")) as Record<string, string[]>;
      expected[family] = Object.fromEntries(Object.entries(recorded).map(([name, lines]) => [name, expectedOf(`${family}/${name}`, lines)]));
    }
    writeFileSync(process.env.CONFORMANCE_EXPECTED, JSON.stringify(expected, null, 2));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe("conformance with ASP.NET Core SignalR", () => {
  for (const [family, exchanges] of Object.entries(families)) {
    describe(family, () => {
      const recorded = JSON.parse(readFileSync(join(recordings, `${family}.json`), "utf8")) as Record<string, string[]>;
      for (const exchange of exchanges) {
        it(exchange.name, () => {
          const lines = recorded[exchange.name];
          expect(lines, `no recording of "${exchange.name}": npm run conformance:record`).toBeDefined();
          const expected = expectedOf(`${family}/${exchange.name}`, lines!);
          expect(comparable(actual[family]![exchange.name]!, expected)).toEqual(expected);
        });
      }
    });
  }

  it("every listed difference changes some recording", () => {
    const used = new Set<Difference>();
    for (const [family, exchanges] of Object.entries(families)) {
      const recorded = JSON.parse(readFileSync(join(recordings, `${family}.json`), "utf8")) as Record<string, string[]>;
      for (const exchange of exchanges) expectedOf(`${family}/${exchange.name}`, recorded[exchange.name] ?? [], used);
    }
    expect(differences.filter((d) => !used.has(d)).map((d) => d.reason)).toEqual([]);
  });
});
