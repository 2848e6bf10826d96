import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { asMissingDependency } from "../../src/optional-dependency.js";

// The errors Node itself raises when a package is missing, caught from a directory with no
// node_modules (the installed-package test shows the same through hubwire/redis and codegen).
const outside = mkdtempSync(join(tmpdir(), "hubwire-missing-"));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("a missing optional peer dependency", () => {
  it("a require of ioredis that cannot find it becomes ERR_OPTIONAL_DEPENDENCY_MISSING with the install command", () => {
    const error = caught(() => createRequire(join(outside, "app.cjs"))("ioredis"));
    expect(asMissingDependency("ioredis", error)).toMatchObject({
      code: "ERR_OPTIONAL_DEPENDENCY_MISSING",
      message: expect.stringContaining("hubwire/redis needs the package 'ioredis', which is not installed. Install it with: npm install ioredis"),
    });
  });

  it("an import of typescript6 that cannot find it becomes ERR_OPTIONAL_DEPENDENCY_MISSING with the install command", async () => {
    // Node's own ESM loader, in a process of its own: vitest's resolver would find the repo's copy.
    const module = join(outside, "reads-hubs.mjs");
    writeFileSync(module, 'import("typescript6").catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message })));\n');
    const { stdout } = await promisify(execFile)(process.execPath, [module], { cwd: outside });
    const error = Object.assign(new Error(), JSON.parse(stdout) as { code: string; message: string });
    expect(error).toMatchObject({ code: "ERR_MODULE_NOT_FOUND" });
    expect(asMissingDependency("typescript6", error)).toMatchObject({
      code: "ERR_OPTIONAL_DEPENDENCY_MISSING",
      message: expect.stringContaining("'typescript6', which is not installed. Install it with: npm install --save-dev typescript6@npm:typescript@^6.0.3"),
    });
  });

  it("any other failure is passed on as it is", () => {
    const otherPackage = caught(() => createRequire(join(outside, "app.cjs"))("ioredis-sentinel"));
    expect(asMissingDependency("ioredis", otherPackage)).toBe(otherPackage);
    const broken = new SyntaxError("Unexpected token");
    expect(asMissingDependency("typescript6", broken)).toBe(broken);
  });
});
