import { describe, expect, it } from "vitest";
import { StatefulLink } from "../../client/stateful-link.js";
import { MessageType, type HubMessage } from "../../src/protocol/messages.js";

// The client's half of stateful reconnect holds trackable sends back while more than its buffer
// went unacknowledged, and lets them go in order as acknowledgements make room.

const call = (n: number): HubMessage => ({ type: MessageType.Invocation, target: "Record", arguments: [n] });
const payload = "x".repeat(40);

describe("the client's stateful link", () => {
  /** A link whose connection never reattaches (not needed here) and sends no Acks. */
  const link = (bufferSize: number) => new StatefulLink({ reopen: () => Promise.reject(new Error("not here")) }, bufferSize, () => {});

  it("lets trackable messages go at once until the buffer is full, then one at a time, in order, as acknowledgements make room", async () => {
    const stateful = link(100);
    const order: number[] = [];
    /** Sends message `n` once the link lets it, as the connection does. */
    const send = async (n: number) => {
      await stateful.room(call(n));
      order.push(n);
      stateful.sending(call(n), payload);
    };
    // 40 + 40 bytes: room; the third makes 120, past the 100 the buffer holds.
    for (const n of [1, 2, 3]) {
      expect(stateful.room(call(n))).toBeUndefined();
      order.push(n);
      stateful.sending(call(n), payload);
    }
    const waiting = [4, 5, 6].map(send);
    // A ping is not kept for a replay: it never waits.
    expect(stateful.room({ type: MessageType.Ping })).toBeUndefined();
    await Promise.resolve();
    expect(order).toEqual([1, 2, 3]);

    // Acknowledging 1 leaves 80 bytes: room for one, which makes 120 again.
    stateful.received({ type: MessageType.Ack, sequenceId: 1 });
    await waiting[0];
    expect(order).toEqual([1, 2, 3, 4]);
    // A new message waits behind those that waited before it.
    const later = send(7);
    stateful.received({ type: MessageType.Ack, sequenceId: 4 });
    await Promise.all([...waiting, later]);
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7]);
    stateful.close();
  });

  it("never holds a message back while nothing is unacknowledged, however small the buffer", async () => {
    const stateful = link(0);
    expect(stateful.room(call(1))).toBeUndefined();
    stateful.sending(call(1), payload);
    const held = stateful.room(call(2));
    stateful.received({ type: MessageType.Ack, sequenceId: 1 });
    await held;
    stateful.close();
  });

  it("fails the sends it holds back when the connection ends", async () => {
    const stateful = link(50);
    stateful.sending(call(1), payload);
    stateful.sending(call(2), payload);
    const held = stateful.room(call(3));
    expect(held).toBeInstanceOf(Promise);
    stateful.close(new Error("Server timeout elapsed."));
    await expect(held).rejects.toMatchObject({ code: "ERR_CONNECTION_LOST", message: expect.stringContaining("Server timeout elapsed.") });
  });
});
