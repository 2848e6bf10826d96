import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README figures", () => {
  it("the bundle-size table is what `npm run bench:size` prints for the built bundles, and the headline agrees", async () => {
    // dist/ is built once before the tests; this runs the script without building again.
    const { stdout } = await promisify(execFile)("node", ["dist/bench/bundle-size.js"], { cwd: root, timeout: 30_000 });
    const table = stdout.trim();
    expect(readme, "README's table differs from `npm run bench:size`: paste its output").toContain(table);
    const gzipped = /^\| hubwire\/client \(JSON\) \| [\d.]+ \| ([\d.]+) \|$/m.exec(table)![1];
    expect(/`hubwire\/client`, browsers and Node, ([\d.]+) KB gzipped/.exec(readme)?.[1]).toBe(gzipped);
  });
});
