import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A new temporary folder, removed once the test file's tests are done. */
export function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "hubwire-test-"));
  folders.push(folder);
  return folder;
}

/** A path named `name` in a temporary folder of its own (see tempFolder), for a file a test has a child process write. */
export function tempFile(name: string): string {
  return join(tempFolder(), name);
}
