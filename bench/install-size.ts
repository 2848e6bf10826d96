import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// What `npm install hubwire` puts in a new project's node_modules, alone and with each optional
// peer dependency: the tarball `npm pack` makes (its prepack builds dist/ afresh), installed into
// empty projects. Sizes are the bytes of the files, so they do not depend on the file system.

const root = fileURLToPath(new URL("../../", import.meta.url));
const { devDependencies: dev } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
const work = mkdtempSync(join(tmpdir(), "hubwire-install-size-"));

try {
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: root, encoding: "utf8" }).trim().split("\n");
  const tarball = join(work, packed[packed.length - 1]!);
  const typescript6 = `typescript6@${dev.typescript6}`;
  const ioredis = `ioredis@${dev.ioredis}`;
  const openTelemetry = `@opentelemetry/api@${dev["@opentelemetry/api"]}`;
  const installs: Array<[label: string, extra: string[]]> = [
    ["`npm install hubwire` (a server, the clients)", []],
    ["+ `hubwire codegen`: `typescript6`", [typescript6]],
    ["+ `hubwire/redis`: `ioredis`", [ioredis]],
    ["+ both", [typescript6, ioredis]],
    ["+ metrics and traces: `@opentelemetry/api`", [openTelemetry]],
  ];
  console.log("| install | packages | node_modules MB |\n|---|---|---|");
  installs.forEach(([label, extra], i) => {
    const project = join(work, `project-${i}`);
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "install-size", private: true, type: "module" }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball, ...extra], { cwd: project, stdio: "ignore" });
    const modules = join(project, "node_modules");
    const packages = readdirSync(modules).flatMap((name) => (name.startsWith("@") ? readdirSync(join(modules, name)) : name.startsWith(".") ? [] : [name]));
    console.log(`| ${label} | ${packages.length} | ${(bytesIn(modules) / 1e6).toFixed(1)} |`);
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Bytes of every file under `dir`; symbolic links (npm's .bin) count as nothing. */
function bytesIn(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += bytesIn(path);
    else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}
