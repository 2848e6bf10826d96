import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/**
 * Vitest global setup: builds dist/ once, before any test file runs (once for all projects). The tests that run built
 * code (processes, the browser page, the bench harness) share that build instead of each
 * rebuilding it under the others' feet.
 */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: root, timeout: 180_000 });
}
