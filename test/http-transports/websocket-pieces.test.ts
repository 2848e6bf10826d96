import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import * as ws from "ws";
import type { RecordFraming } from "../../src/protocol/hub-protocol.js";
import { FrameReader, holdsWholeFrames } from "../../src/transports/websocket-pieces.js";

/** ws's own receiver and sender, which its types do not declare. */
interface WsReceiver {
  readonly destroyed: boolean;
  write(bytes: Buffer): boolean;
  on(event: "message", listener: (data: Buffer, binary: boolean) => void): this;
  on(event: "ping", listener: (data: Buffer) => void): this;
  on(event: "error", listener: (error: Error & { code?: string }) => void): this;
}
const { Receiver, Sender } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; maskBuffer: Buffer; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

// The frame reader between a socket and ws's receiver, driven with frames as clients mask them
// and ws's own receiver behind it: what ws makes of the bytes is what a hub would be given.

const maxPayload = 64 * 1024;

/** A client's frame: masked with a random key, as ws's sender makes it. */
function clientFrame(payload: Buffer, opcode: number, fin = true): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(payload), { fin, opcode, mask: true, maskBuffer: Buffer.alloc(4), readOnly: false, rsv1: false }));
}

/** `count` JSON records of about `size` bytes each, numbered. */
function jsonRecords(count: number, size: number): Buffer {
  return Buffer.from(Array.from({ length: count }, (_, i) => `{"n":${i},"pad":"${"x".repeat(size)}"}\u001e`).join(""));
}

/** `count` length-prefixed records of `size` bytes each (byte i of record n is n & 0xff). */
function binaryRecords(count: number, size: number): Buffer {
  const prefix = Buffer.from([0x80 | (size & 0x7f), size >> 7]); // size < 16,384
  return Buffer.concat(Array.from({ length: count }, (_, n) => Buffer.concat([prefix, Buffer.alloc(size, n & 0xff)])));
}

/** What ws's receiver makes of what a reader hands on: messages, pings and its error (emitted a tick later), in order. */
async function readThrough(chunks: Buffer[], framing: RecordFraming | undefined, reader = new FrameReader()) {
  const receiver = new Receiver({ isServer: true, maxPayload });
  const events: Array<{ message: Buffer; binary: boolean } | { ping: string } | { error: string }> = [];
  receiver.on("message", (data: Buffer, binary: boolean) => events.push({ message: data, binary }));
  receiver.on("ping", (data: Buffer) => events.push({ ping: data.toString() }));
  receiver.on("error", (error: Error & { code?: string }) => events.push({ error: error.code ?? error.message }));
  const handedOn: Buffer[] = [];
  for (const chunk of chunks) {
    reader.read(chunk, { recordFraming: framing, maxPayload }, (bytes) => {
      handedOn.push(Buffer.from(bytes)); // ws unmasks what it is given in place
      if (!receiver.destroyed) receiver.write(bytes);
    });
  }
  await new Promise((resolve) => setImmediate(resolve));
  const messages = events.filter((e): e is { message: Buffer; binary: boolean } => "message" in e);
  return { events, messages, handedOn, reader };
}

/** `bytes` in pieces of `size` (the last shorter). */
function chunked(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

describe("FrameReader: a message too large or fragmented for ws, read in pieces of whole hub messages", async () => {
  it("hands frames ws takes whole on as they came, and has nothing left between reads", async () => {
    const frames = Buffer.concat([clientFrame(jsonRecords(3, 10), 1), clientFrame(Buffer.from("hi"), 0x9), clientFrame(binaryRecords(2, 100), 2)]);
    expect(holdsWholeFrames(frames, maxPayload)).toBe(true);
    const { handedOn, messages, reader } = await readThrough([Buffer.from(frames)], "text");
    expect(Buffer.concat(handedOn)).toEqual(frames);
    expect(messages.map((m) => m.message)).toEqual([jsonRecords(3, 10), binaryRecords(2, 100)]);
    expect(reader.idle).toBe(true);
    expect(holdsWholeFrames(frames.subarray(0, frames.length - 1), maxPayload)).toBe(false);
    expect(holdsWholeFrames(clientFrame(jsonRecords(1, 10), 1, false), maxPayload)).toBe(false);
    expect(holdsWholeFrames(clientFrame(jsonRecords(3000, 30), 1), maxPayload)).toBe(false);
  });

  it.each([1_000, 7, 65_536])("cuts a text message larger than maxPayload after whole records, read %i bytes at a time", async (size) => {
    const payload = jsonRecords(size === 7 ? 1_500 : 6_000, 40); // 90 or 360 KB
    const { messages, reader } = await readThrough(chunked(clientFrame(payload, 1), size), "text");
    expect(messages.length).toBeGreaterThan(1);
    for (const { message, binary } of messages) {
      expect(binary).toBe(false);
      expect(message.length).toBeLessThanOrEqual(maxPayload);
      expect(message.at(-1)).toBe(0x1e);
    }
    expect(Buffer.concat(messages.map((m) => m.message))).toEqual(payload);
    expect(reader.idle).toBe(true);
  });

  it("reads a fragmented binary message in pieces, records across fragments, a ping between them handed on in its place", async () => {
    const payload = binaryRecords(300, 1_000); // 300 KB in 4 KiB fragments, as the .NET client sends its pipe's segments
    const fragments = chunked(payload, 4096).map((part, i, all) => clientFrame(part, i === 0 ? 2 : 0, i === all.length - 1));
    fragments.splice(10, 0, clientFrame(Buffer.from("are you there"), 0x9));
    const { events, messages, reader } = await readThrough(chunked(Buffer.concat(fragments), 10_000), "binary");
    expect(Buffer.concat(messages.map((m) => m.message))).toEqual(payload);
    expect(messages.every((m) => m.binary)).toBe(true);
    expect(events.findIndex((e) => "ping" in e)).toBeGreaterThan(0);
    expect(events.findIndex((e) => "ping" in e)).toBeLessThan(events.length - 1);
    expect(reader.idle).toBe(true);
  });

  it("leaves a message to ws whole before the framing is known (before the handshake), fragmented or not", async () => {
    const payload = jsonRecords(100, 40);
    const fragments = chunked(payload, 1000).map((part, i, all) => clientFrame(part, i === 0 ? 1 : 0, i === all.length - 1));
    const { messages, handedOn } = await readThrough(chunked(Buffer.concat(fragments), 3000), undefined);
    expect(messages.map((m) => m.message)).toEqual([payload]);
    expect(Buffer.concat(handedOn)).toEqual(Buffer.concat(fragments));
    const tooLarge = await readThrough([clientFrame(jsonRecords(3000, 40), 1)], undefined);
    expect(tooLarge.events).toEqual([{ error: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" }]);
  });

  it("refuses, as ws would, a hub message longer than maxPayload, in either framing, and hands on nothing after", async () => {
    const text = Buffer.from(`{"pad":"${"x".repeat(maxPayload)}"}\u001e`);
    const textRead = await readThrough(chunked(Buffer.concat([clientFrame(jsonRecords(10, 10), 1, false), clientFrame(text, 0)]), 5000), "text");
    expect(textRead.events.map((e) => ("message" in e ? "message" : e))).toEqual(["message", { error: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" }]);
    // A length prefix that announces more than the bound is refused before its bytes come.
    const announced = Buffer.from([0xff, 0xff, 0x07, 1, 2, 3]); // 131,071 bytes
    const binaryRead = await readThrough([clientFrame(Buffer.concat([binaryRecords(1, 10), announced]), 2, false)], "binary");
    expect(binaryRead.events).toEqual([{ message: binaryRecords(1, 10), binary: true }, { error: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" }]);
    const reader = binaryRead.reader;
    expect((await readThrough([clientFrame(binaryRecords(1, 10), 2)], "binary", reader)).handedOn).toEqual([]);
  });

  it("hands on a hub message left unfinished at the message's end as it is, for the hub to refuse", async () => {
    const payload = Buffer.concat([jsonRecords(2, 10), Buffer.from('{"n":')]);
    const fragments = [clientFrame(payload.subarray(0, 20), 1, false), clientFrame(payload.subarray(20), 0, true)];
    const { messages, reader } = await readThrough(fragments, "text");
    expect(Buffer.concat(messages.map((m) => m.message))).toEqual(payload);
    expect(messages.at(-1)!.message.toString()).toBe('{"n":');
    expect(reader.idle).toBe(true);
  });

  it("has ws refuse a data frame that breaks into a message read in pieces, as it would have", async () => {
    const frames = Buffer.concat([clientFrame(jsonRecords(2, 10), 1, false), clientFrame(jsonRecords(1, 10), 1)]);
    const { events } = await readThrough([frames], "text");
    expect(events.map((e) => ("message" in e ? "message" : e))).toEqual(["message", { error: "WS_ERR_INVALID_OPCODE" }]);
  });
});
