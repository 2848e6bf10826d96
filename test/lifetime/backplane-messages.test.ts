import { describe, expect, it } from "vitest";
import { decodeBackplaneMessage, encodeBackplaneMessage, type SendMessage } from "../../src/lifetime/backplane-messages.js";

describe("backplane messages", () => {
  it("hold no more memory than their bytes: the outbox's byte bound is what it keeps", () => {
    const send: SendMessage = { kind: "send", origin: "a", target: { kind: "all" }, payloads: { json: '{"type":1}\u001e' }, seq: 1 };
    const bytes = encodeBackplaneMessage(send);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
    expect(decodeBackplaneMessage(bytes)).toEqual(send);
  });

  it("decode one after another with one decoder, and leave out undefined fields", () => {
    const inner = encodeBackplaneMessage({ kind: "ack", ackId: 2 });
    const outer = encodeBackplaneMessage({ kind: "alive", origin: "b", listening: true });
    expect([decodeBackplaneMessage(outer), decodeBackplaneMessage(inner)]).toEqual([
      { kind: "alive", origin: "b", listening: true },
      { kind: "ack", ackId: 2 },
    ]);
    const withUndefined = encodeBackplaneMessage({ kind: "send", origin: "a", target: { kind: "all" }, payloads: {}, seq: undefined });
    expect(Object.keys(decodeBackplaneMessage(withUndefined))).toEqual(["kind", "origin", "target", "payloads"]);
  });
});
