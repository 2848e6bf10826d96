import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { parsePlainInvocation } from "../../src/protocol/json-plain-invocation.js";
import { MessageType, type InvocationMessage } from "../../src/protocol/messages.js";
import { messagePackHubProtocol } from "../../src/protocol/messagepack-protocol.js";
import { ownPayload } from "../../src/protocol/multiplex-frames.js";

// In V8 a slice of 13 characters or more is a view of the whole string it was cut from. A string
// a hub keeps (a chat message in a room's history) must not keep the frame it came in alive.

v8.setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

const RS = "\u001e";
const frames = 40;
/** About a megabyte of pings after the record: what a client may put in one frame. */
const padding = `{"type":6}${RS}`.repeat(100_000);

/** The heap still held, after a full collection, by what `keepFrom` keeps of each of 40 frames of about a megabyte. */
function heldBy(keepFrom: (frame: string, bytes: Uint8Array, recordEnd: number) => unknown): number {
  const kept: unknown[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < frames; i++) {
    const record = `{"type":1,"invocationId":"call-${i}-of-a-long-series","target":"SendToTheWholeRoom","arguments":["a message long enough to be a view ${i}"]}`;
    const frame = `${record}${RS}${padding}`;
    kept.push(keepFrom(frame, Buffer.from(frame), record.length));
  }
  gc();
  const held = process.memoryUsage().heapUsed - before;
  expect(kept).toHaveLength(frames);
  return held;
}

it("keeps no frame alive through the id, target or arguments the JSON fast path reads", () => {
  const held = heldBy((frame, bytes, recordEnd) => {
    const message = parsePlainInvocation(frame, bytes, 0, recordEnd)!;
    return [message.invocationId, message.target, message.arguments[0]];
  });
  // A quarter of the frames (40 MB): what else the process does meanwhile moves the figure by megabytes.
  expect(held).toBeLessThan(frames * 250_000);
});

it("keeps no frame alive through a multiplexed payload held until its hub opens", () => {
  const held = heldBy((frame, bytes, recordEnd) => ownPayload(frame, bytes, 0, recordEnd)[0]);
  expect(held).toBeLessThan(frames * 250_000);
});

it("keeps no frame alive through the binary arguments MessagePack hands out as views", () => {
  // After the message, another of about a megabyte in the same frame.
  const large = messagePackHubProtocol.writeMessage({ type: MessageType.Invocation, target: "Pad", arguments: [new Uint8Array(1_000_000)] });
  const kept: unknown[] = [];
  gc();
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < frames; i++) {
    const record = messagePackHubProtocol.writeMessage({ type: MessageType.Invocation, target: "Store", arguments: [new Uint8Array(32).fill(i)] });
    const frame = new Uint8Array(record.length + large.length);
    frame.set(record);
    frame.set(large, record.length);
    kept.push((messagePackHubProtocol.parseMessages(frame)[0] as InvocationMessage).arguments[0]);
  }
  gc();
  const held = process.memoryUsage().arrayBuffers - before;
  expect(kept).toHaveLength(frames);
  expect(held).toBeLessThan(frames * 250_000);
});
