import { describe, expect, it } from "vitest";
import { StatefulLink } from "../../client/stateful-link.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { MessageType, type HubMessage } from "../../src/protocol/messages.js";

// The client's half of stateful reconnect keeps each trackable message for a replay before it is
// sent; while more than its buffer went unacknowledged, it holds messages back and keeps them,
// in order, as acknowledgements make room.

const call = (n: number): HubMessage => ({ type: MessageType.Invocation, target: "Record", arguments: [n] });
const payload = "x".repeat(40);

describe("the client's stateful link", () => {
  /** A link whose connection never reattaches (not needed here) and sends no Acks. */
  const link = (bufferSize: number) => new StatefulLink({ reopen: () => Promise.reject(new Error("not here")) }, bufferSize, () => {});

  it("keeps messages at once until the buffer is full, then holds the rest back and lets them go in order as acknowledgements make room", async () => {
    const stateful = link(100);
    const sent: number[] = [];
    /** Message `n` as the connection sends it: kept (maybe after a wait), then sent. */
    const send = async (n: number) => {
      await stateful.keep(call(n), payload);
      sent.push(n);
    };
    // Fired at once, as a page's calls may be: 40 + 40 bytes leave room, the third makes 120,
    // past the 100 the buffer holds, and the others wait.
    const sends = [1, 2, 3, 4, 5, 6].map(send);
    // A ping is not kept for a replay: it never waits.
    expect(stateful.keep({ type: MessageType.Ping }, "{}")).toBeUndefined();
    await Promise.all(sends.slice(0, 3));
    expect(sent).toEqual([1, 2, 3]);

    // Acknowledging 1 leaves 80 bytes: room for one, which makes 120 again.
    stateful.received({ type: MessageType.Ack, sequenceId: 1 });
    await sends[3];
    expect(sent).toEqual([1, 2, 3, 4]);
    // A new message waits behind those that waited before it.
    const later = send(7);
    stateful.received({ type: MessageType.Ack, sequenceId: 4 });
    await Promise.all([...sends, later]);
    expect(sent).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // What a replay would send: the unacknowledged messages, in the order they were kept.
    expect(stateful.replay(jsonHubProtocol)).toEqual([`{"type":9,"sequenceId":5}\u001e`, payload, payload, payload]);
    stateful.close();
  });

  it("never holds a message back while nothing is unacknowledged, however small the buffer", async () => {
    const stateful = link(0);
    expect(stateful.keep(call(1), payload)).toBeUndefined();
    const held = stateful.keep(call(2), payload);
    expect(held).toBeInstanceOf(Promise);
    stateful.received({ type: MessageType.Ack, sequenceId: 1 });
    await held;
    stateful.close();
  });

  it("fails the messages it holds back when the connection ends", async () => {
    const stateful = link(50);
    stateful.keep(call(1), payload);
    stateful.keep(call(2), payload);
    const held = stateful.keep(call(3), payload);
    expect(held).toBeInstanceOf(Promise);
    stateful.close(new Error("Server timeout elapsed."));
    await expect(held).rejects.toMatchObject({ code: "ERR_CONNECTION_LOST", message: expect.stringContaining("Server timeout elapsed.") });
  });
});
