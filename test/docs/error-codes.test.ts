import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
const documented = new Set([...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
const protocolSource = readFileSync(new URL("../../src/protocol/protocol-error.ts", import.meta.url), "utf8");
const protocolCodes = [...protocolSource.matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1]!);

describe("docs/errors.md", () => {
  it("documents every error code, and no code that does not exist", () => {
    const codes = [...Object.keys(ErrorCodes), ...protocolCodes];
    expect([...documented].sort()).toEqual([...new Set(codes)].sort());
  });
});
