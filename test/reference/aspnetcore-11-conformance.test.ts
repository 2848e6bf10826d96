import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAll, type Transcripts } from "../conformance/run-all.js";
import type { ServerVariant } from "../conformance/script.js";
import { aspnetcoreEnv } from "../conformance/variants.js";
import { dotnetMissingFor, startReferenceServer, type ReferenceServer } from "./dotnet.mjs";

// The conformance exchanges (test/conformance) run against the reference server on ASP.NET Core 11
// (see aspnetcore11Root in dotnet.mjs). The recordings are ASP.NET Core 10's, which npm test replays
// against hubwire; this says how 11 answers otherwise, every change listed once with what it is.

const missing = dotnetMissingFor("the ASP.NET Core 11 conformance run");

/** A transcript line as ASP.NET Core 11 has it, from ASP.NET Core 10's. */
interface Change {
  what: string;
  /** The exchanges it applies to, by name (all, when absent). */
  only?: RegExp;
  rewrite(line: string): string;
}

const changesIn11: Change[] = [
  {
    what: ".NET 11 words the FormatException of a JSON number out of an integer type's range anew",
    rewrite: (line) => line.replace(/out of bounds for an (Int32|Int64)\./g, "out of bounds for the $1 type."),
  },
  {
    what: "the JsonException of an upload item that does not bind names another byte position",
    only: /upload item of the wrong type$/,
    rewrite: (line) => line.replace("BytePositionInLine: 14.", "BytePositionInLine: 50."),
  },
];

/**
 * Exchanges whose answer on ASP.NET Core 11 changes from run to run: what it may be instead of the
 * recorded one, and why.
 */
const unsettledIn11: Record<string, { what: string; alternative(recorded: string[]): string[] }> = {
  "POST before the connection starts": {
    what: "a POST to a connection whose transport has not started is taken (200, as on 10) or, in some runs, refused with 400 and no content type",
    // The POST's answer ends the transcript: its status and content type, then its empty body.
    alternative: (recorded) => [...recorded.slice(0, -3), "  400", recorded.at(-1)!],
  },
};

/** The recordings, by family (one file each). */
function recorded(): Transcripts {
  const dir = join(process.cwd(), "test", "conformance", "recordings");
  const files = readdirSync(dir).filter((name) => name.endsWith(".json"));
  return Object.fromEntries(files.map((file) => [file.slice(0, -".json".length), JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, string[]>]));
}

describe.skipIf(missing)(`the conformance exchanges on ASP.NET Core 11${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let servers: ReferenceServer[] = [];
  let on11: Transcripts;

  beforeAll(async () => {
    const variants = Object.keys(aspnetcoreEnv) as ServerVariant[];
    servers = await Promise.all(variants.map((v) => startReferenceServer({ env: aspnetcoreEnv[v], aspnetcore11: true })));
    on11 = await runAll(Object.fromEntries(variants.map((v, i) => [v, servers[i]!.url])) as Record<ServerVariant, string>);
  }, 600_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it("answers as the recordings (ASP.NET Core 10) but for the changes listed, each of which changes some exchange, and the unsettled ones", () => {
    const used = new Set<Change>();
    const expected: Transcripts = {};
    for (const [family, exchanges] of Object.entries(recorded())) {
      expected[family] = {};
      for (const [name, lines] of Object.entries(exchanges)) {
        expected[family]![name] = lines.map((line) =>
          changesIn11.reduce((now, change) => {
            if (change.only && !change.only.test(name)) return now;
            const next = change.rewrite(now);
            if (next !== now) used.add(change);
            return next;
          }, line),
        );
      }
    }
    for (const [name, { alternative }] of Object.entries(unsettledIn11)) {
      const family = Object.keys(expected).find((f) => name in expected[f]!)!;
      const answered = on11[family]![name]!;
      if (JSON.stringify(answered) === JSON.stringify(alternative(expected[family]![name]!))) expected[family]![name] = answered;
    }
    expect(on11).toEqual(expected);
    expect(changesIn11.filter((change) => !used.has(change)).map((change) => change.what)).toEqual([]);
  });
});
