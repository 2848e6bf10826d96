import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInteropServer } from "../../samples/interop-server/app.js";
import { silentLogger, type HubServerOptions } from "../../src/index.js";
import type { FixtureServer } from "../interop/fixture.js";
import { comparable, expectedOf } from "./differences.js";
import { families } from "./exchanges/index.js";
import { runAll, type Transcripts } from "./run-all.js";
import type { ServerVariant } from "./script.js";
import { hubwireOptions } from "./variants.js";

// Replays recorded exchanges (ASP.NET Core SignalR's answers, recordings/) against hubwire's
// interop server and compares transcript by transcript; differences.ts lists what may differ.

export const recordings = join(fileURLToPath(new URL(".", import.meta.url)), "recordings");

export function recorded(family: string): Record<string, string[]> {
  return JSON.parse(readFileSync(join(recordings, `${family}.json`), "utf8")) as Record<string, string[]>;
}

/**
 * One test per exchange of these families. CONFORMANCE_ACTUAL=<file> and CONFORMANCE_EXPECTED=<file>
 * keep hubwire's transcripts and the rewritten recordings, to study a difference at leisure.
 */
export function replay(
  names: string[],
  start: (options: HubServerOptions) => Promise<FixtureServer> = (options) => startInteropServer(0, options),
  /** Which recorded exchanges to replay (all by default). */
  include: (recording: string[]) => boolean = () => true,
): void {
  const variants = Object.keys(hubwireOptions) as ServerVariant[];
  const servers: FixtureServer[] = [];
  let actual: Transcripts;

  beforeAll(async () => {
    servers.push(...(await Promise.all(variants.map((v) => start({ logger: silentLogger, ...hubwireOptions[v] })))));
    const urls = Object.fromEntries(variants.map((v, i) => [v, servers[i]!.url])) as Record<ServerVariant, string>;
    actual = await runAll(urls, (family) => names.includes(family));
    const tag = names.join("+");
    if (process.env.CONFORMANCE_ACTUAL) writeFileSync(`${process.env.CONFORMANCE_ACTUAL}.${tag}.json`, JSON.stringify(actual, null, 2));
    if (process.env.CONFORMANCE_EXPECTED) {
      const expected = Object.fromEntries(
        names.map((f) => [f, Object.fromEntries(Object.entries(recorded(f)).map(([name, lines]) => [name, expectedOf(`${f}/${name}`, lines)]))]),
      );
      writeFileSync(`${process.env.CONFORMANCE_EXPECTED}.${tag}.json`, JSON.stringify(expected, null, 2));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  for (const family of names) {
    describe(family, () => {
      const lines = recorded(family);
      for (const exchange of families[family]!.filter((e) => include(lines[e.name] ?? []))) {
        it(exchange.name, () => {
          const recording = lines[exchange.name];
          expect(recording, `no recording of "${exchange.name}": npm run conformance:record`).toBeDefined();
          const expected = expectedOf(`${family}/${exchange.name}`, recording!);
          expect(comparable(actual[family]![exchange.name]!, expected)).toEqual(expected);
        });
      }
    });
  }
}
