import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A path named `name` in a temporary folder of its own, for a file a test has a child process
 * write (a bench's JSON report); the folders go when the test file's tests are done.
 */
export function tempFile(name: string): string {
  const folder = mkdtempSync(join(tmpdir(), "hubwire-test-"));
  folders.push(folder);
  return join(folder, name);
}

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
