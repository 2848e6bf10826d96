import { describe, expect, it } from "vitest";
import { MovableMessageBuffer, type MessageBufferState } from "../../src/connection/movable-message-buffer.js";

/** A checkpoint's buffer: the client had sent 5 trackable messages when it was made, none unacknowledged by the server. */
const checkpoint: MessageBufferState = { unacked: [[8, "eight"]], lastSentId: 8, received: 5, lastAcked: 7, duplicates: 0 };

describe("a stateful buffer rebuilt elsewhere", () => {
  it("refuses a client Sequence past what it received, after a move", () => {
    const buffer = MovableMessageBuffer.from(100_000, checkpoint);
    expect(() => buffer.resequence(9)).toThrow(expect.objectContaining({ code: "ERR_PROTOCOL_INVALID_PAYLOAD" }));
  });

  it("takes the client's Sequence after a crash recovery: the dead server handled and acknowledged the messages in between", () => {
    const buffer = MovableMessageBuffer.from(100_000, { ...checkpoint, recovered: true });
    buffer.resequence(9);
    // The client's next message is its ninth: new, counted, and acknowledged next.
    expect(buffer.receivedTrackable()).toBe(true);
    expect(buffer.ackDue()).toBe(9);
  });

  it("still counts as recovered when it moves on before its client came back, and not after", () => {
    const recovered = MovableMessageBuffer.from(100_000, { ...checkpoint, recovered: true });
    expect(recovered.state.recovered).toBe(true);
    const moved = MovableMessageBuffer.from(100_000, recovered.state);
    moved.resequence(9);
    expect(moved.state.recovered).toBeUndefined();
  });
});
