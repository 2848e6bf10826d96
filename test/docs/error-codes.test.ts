import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const doc = read("docs/errors.md");
const codesIn = (text: string) => new Set([...text.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!));
const quoted = (source: string) => [...new Set([...source.matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1]!))].sort();

// The client's codes have a section of their own: the same name may mean another thing there.
const clientSection = /^## hubwire\/client$([\s\S]*?)(?=^## )/m.exec(doc)?.[1] ?? "";
const serverPart = doc.replace(clientSection, "");

describe("docs/errors.md", () => {
  it("documents every error code, and no code that does not exist", () => {
    const codes = [...Object.keys(ErrorCodes), ...quoted(read("src/protocol/protocol-error.ts"))];
    expect([...codesIn(serverPart)].sort()).toEqual([...new Set(codes)].sort());
  });

  it("documents every code of hubwire/client in its own table", () => {
    const union = /export type ClientErrorCode =([^;]*);/.exec(read("client/errors.ts"))![1]!;
    expect([...codesIn(clientSection)].sort()).toEqual(quoted(union));
  });

  it("names only options that exist", () => {
    const optionsOf = (source: string) => [...source.matchAll(/^\s+(\w+)\?:/gm)].map((m) => m[1]!);
    const options = new Set(["src/dispatch/hub-options.ts", "src/server-options.ts", "client/connection-options.ts"].flatMap((path) => optionsOf(read(path))));
    // Names shaped like limits and timeouts are options; each must be one.
    const named = [...doc.matchAll(/`((?:max|maximum)[A-Z]\w*|\w+(?:Timeout|Size|Ms))`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !options.has(name))).toEqual([]);
  });
});
