#!/usr/bin/env node
import { relative } from "node:path";
import { HubwireError } from "../errors.js";
import { asMissingDependency } from "../optional-dependency.js";

// hubwire codegen <hub.ts ...> --out <dir> [--client-import <specifier>] [--check]

const usage = "usage: hubwire codegen <hub.ts ...> --out <dir> [--client-import <specifier>] [--check]";
const [command, ...rest] = process.argv.slice(2);
if (command !== "codegen") fail(usage);

const files: string[] = [];
let outDir: string | undefined;
let clientImport: string | undefined;
let check = false;
for (let i = 0; i < rest.length; i++) {
  const arg = rest[i]!;
  if (arg === "--out") outDir = rest[++i];
  else if (arg === "--client-import") clientImport = rest[++i];
  else if (arg === "--check") check = true;
  else if (arg.startsWith("--")) fail(`unknown option ${arg}\n${usage}`);
  else files.push(arg);
}
if (!outDir || files.length === 0) fail(usage);

try {
  // The generator runs on typescript6, an optional peer dependency: say so if it is missing.
  const { generate } = await import("./generate.js").catch((error: unknown) => {
    throw asMissingDependency("typescript6", error);
  });
  const result = generate({ files, outDir, check, ...(clientImport ? { clientImport } : {}) });
  const show = (file: string) => relative(process.cwd(), file);
  if (check) {
    if (result.stale.length > 0) {
      const error = new HubwireError("ERR_CODEGEN_STALE", `Generated clients are out of date: ${result.stale.map(show).join(", ")}. Run hubwire codegen again.`);
      fail(`${error.code}: ${error.message}`);
    }
    console.log("generated clients are up to date");
  } else {
    for (const file of result.written) console.log(`wrote ${show(file)}`);
    if (result.written.length === 0) console.log("generated clients are up to date");
  }
} catch (error) {
  const coded = error as { code?: string; message: string };
  fail(coded.code ? `${coded.code}: ${coded.message}` : coded.message);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
