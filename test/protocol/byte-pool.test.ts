import { describe, expect, it } from "vitest";
import { allocBytes } from "../../src/protocol/byte-pool.js";

describe("the byte pool", () => {
  it("hands out arrays of the asked length that never share a byte", () => {
    const lengths = [0, 1, 64, 65, 100, 777, 2048, 2049, 5000];
    const arrays: Uint8Array[] = [];
    // Enough rounds to use up several slabs.
    for (let round = 0; round < 40; round++) {
      for (const length of lengths) {
        const bytes = allocBytes(length);
        expect(bytes.byteLength).toBe(length);
        bytes.fill(arrays.length & 0xff);
        arrays.push(bytes);
      }
    }
    arrays.forEach((bytes, i) => expect(bytes.every((byte) => byte === (i & 0xff))).toBe(true));
  });

  it("starts each pooled array 8-byte aligned", () => {
    for (let length = 65; length < 300; length += 13) expect(allocBytes(length).byteOffset % 8).toBe(0);
  });
});
