import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dir = new URL("../../src/protocol/", import.meta.url);
const sources = readdirSync(dir)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => ({ file, text: readFileSync(new URL(file, dir), "utf8") }));

describe("src/protocol", () => {
  it("runs in browsers: no Node modules, no Buffer, no imports from other layers", () => {
    for (const { file, text } of sources) {
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""); // comments may mention Buffer
      const imports = [...code.matchAll(/from "([^"]+)"/g)].map((m) => m[1]!);
      for (const specifier of imports) {
        expect(specifier.startsWith("./") || specifier === "@msgpack/msgpack", `${file} imports ${specifier}`).toBe(true);
      }
      expect(/\bBuffer\b|\bprocess\b|\brequire\(/.test(code), `${file} uses a Node global`).toBe(false);
    }
  });
});
