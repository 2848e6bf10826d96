import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { readBackplaneHead } from "../../src/lifetime/backplane-head.js";
import { encodeBackplaneMessage } from "../../src/lifetime/backplane-messages.js";

const origin = "8b0c6d2e-3f4a-4b5c-9d6e-7f8091a2b3c4";

describe("readBackplaneHead", () => {
  it("reads a send's kind, origin and number before its target and payloads", () => {
    for (const seq of [0, 127, 200, 60_000, 4_000_000_000, 2 ** 40]) {
      const bytes = encodeBackplaneMessage({ kind: "send", origin, seq, target: { kind: "all" }, payloads: { json: "x" } });
      expect(readBackplaneHead(bytes)).toEqual({ kind: "send", origin, seq });
    }
  });

  it("reads no number where an older server put it last, and no origin where a reply has none", () => {
    const older = encode({ kind: "send", origin, target: { kind: "all" }, payloads: { json: "x" }, seq: 3 });
    expect(readBackplaneHead(older)).toEqual({ kind: "send", origin });
    expect(readBackplaneHead(encodeBackplaneMessage({ kind: "ack", ackId: 4 }))).toEqual({ kind: "ack" });
    expect(readBackplaneHead(encodeBackplaneMessage({ kind: "fence", origin, fenceId: 2 }))).toEqual({ kind: "fence", origin });
  });

  it("reads an origin that is not ASCII as the decoder does", () => {
    const bytes = encodeBackplaneMessage({ kind: "send", origin: "nœud-é", seq: 1, target: { kind: "all" }, payloads: {} });
    expect(readBackplaneHead(bytes)).toEqual({ kind: "send", origin: "nœud-é", seq: 1 });
  });

  it("gives up, without throwing, on what is not a map starting with kind, or is cut short", () => {
    const whole = encodeBackplaneMessage({ kind: "send", origin, seq: 70_000, target: { kind: "all" }, payloads: {} });
    expect(readBackplaneHead(new Uint8Array([0xc1]))).toBeUndefined();
    expect(readBackplaneHead(new Uint8Array([]))).toBeUndefined();
    expect(readBackplaneHead(encode([1, 2, 3]))).toBeUndefined();
    expect(readBackplaneHead(encode({ origin, kind: "send" }))).toBeUndefined();
    expect(readBackplaneHead(encode({ kind: 5 }))).toBeUndefined();
    expect(readBackplaneHead(encode({ kind: "send", origin, seq: -1 }))).toEqual({ kind: "send", origin, seq: undefined });
    for (let length = 0; length < whole.length; length++) expect(() => readBackplaneHead(whole.subarray(0, length))).not.toThrow();
    expect(readBackplaneHead(whole.subarray(0, 62))).toEqual({ kind: "send", origin, seq: undefined });
  });
});
