import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runAll } from "./run-all.js";
import type { ServerVariant } from "./script.js";
import { aspnetcoreEnv } from "./variants.js";

// `npm run conformance:record [dir]`: runs every exchange against ASP.NET Core SignalR (the
// reference server, in each variant) and writes the transcripts to recordings/ (or `dir`).

// Run from the repository's root (npm does), bundled into dist/: dotnet.mjs finds the projects
// next to itself, so it is loaded from its place, not bundled.
const root = process.cwd();
const dir = process.argv[2] ?? join(root, "test", "conformance", "recordings");
const { buildProject, dotnetMissingReason, projects, startReferenceServer } = (await import(
  pathToFileURL(join(root, "test", "reference", "dotnet.mjs")).href
)) as typeof import("../reference/dotnet.mjs");

const missing = dotnetMissingReason();
if (missing) {
  console.error(`cannot record: ${missing}`);
  process.exit(1);
}

// Built once before the variants start side by side.
await buildProject(projects.aspnetcore);
const variants = Object.keys(aspnetcoreEnv) as ServerVariant[];
const servers = await Promise.all(variants.map((v) => startReferenceServer({ env: aspnetcoreEnv[v] })));
// Stopped early, the servers stop too (they are processes of their own).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void Promise.all(servers.map((s) => s.stop())).then(() => process.exit(1)));
}
try {
  const urls = Object.fromEntries(variants.map((v, i) => [v, servers[i]!.url])) as Record<ServerVariant, string>;
  const transcripts = await runAll(urls);
  mkdirSync(dir, { recursive: true });
  let count = 0;
  for (const [family, exchanges] of Object.entries(transcripts)) {
    count += Object.keys(exchanges).length;
    writeFileSync(join(dir, `${family}.json`), `${JSON.stringify(exchanges, null, 2)}\n`);
  }
  console.log(`recorded ${count} exchanges in ${dir}`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
