import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** Builds dist/ once before any test runs, so tests that read it never build it under each other. */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: root, timeout: 180_000 });
}
