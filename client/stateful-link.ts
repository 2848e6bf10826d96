import { isTrackable, MessageBuffer } from "../src/protocol/message-buffer.js";
import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { MessageType, type HubMessage } from "../src/protocol/messages.js";
import { connectionLost } from "./errors.js";
import type { Resumable } from "./transports/transport.js";

/** How long a server keeps a stateful connection whose client is away, by default (its `disconnectTimeout`, hubwire's and ASP.NET Core's). */
export const defaultReattachWindowMs = 15_000;

/**
 * The waits before each attempt to reattach a dropped WebSocket: 0, 1 and 2 s, then 5 s, as long
 * as the next attempt comes within `windowMs` of the drop (for ever when it is infinite). After
 * the last, the connection is lost.
 */
export function* reattachDelaysMs(windowMs: number): Generator<number, void> {
  yield 0;
  for (let at = 0, i = 1; ; i++) {
    const delay = i === 1 ? 1000 : i === 2 ? 2000 : 5000;
    if (!(at + delay < windowMs)) return; // NaN too: one attempt
    at += delay;
    yield delay;
  }
}

/**
 * The client's half of stateful reconnect (the server's is the same MessageBuffer): it keeps what
 * it sent until the server acknowledges it, counts what it received (acknowledged once a second,
 * and used to drop what the server sends again after a reconnect), and knows how a new
 * WebSocket (or a hub's channel on a multiplexer's new one) reattaches to the connection.
 */
export class StatefulLink {
  /** Never gives up on its own (no limit): `room` keeps it near `bufferSize` by holding sends back. */
  private readonly buffer = new MessageBuffer(Number.POSITIVE_INFINITY);
  private readonly ackTimer: ReturnType<typeof setInterval>;
  /** From a drop until a new socket has taken over: trackable messages wait for the replay. */
  reattaching = false;
  /** Trackable messages held back until acknowledgements make room, in the order they came. */
  private readonly waiting: Array<{ payload: string | Uint8Array; go: () => void; fail: (error: Error) => void }> = [];

  constructor(
    /** Opens the connection's next transport. */
    readonly resumable: Resumable,
    /** Bytes of unacknowledged messages past which trackable sends wait (statefulReconnectBufferSize). */
    private readonly bufferSize: number,
    /** Sends an Ack: the server keeps what it sent until then. Called once a second when due, as the official client does. */
    acknowledge: (sequenceId: number) => void,
  ) {
    this.ackTimer = setInterval(() => {
      const sequenceId = this.reattaching ? undefined : this.buffer.ackDue();
      if (sequenceId !== undefined) acknowledge(sequenceId);
    }, 1000);
    (this.ackTimer as { unref?: () => void }).unref?.();
  }

  /** The connection is over: no more acknowledgements; sends still held back fail (`error`: why it ended). */
  close(error?: Error): void {
    clearInterval(this.ackTimer);
    if (this.waiting.length === 0) return;
    const lost = connectionLost(error);
    for (const { fail } of this.waiting.splice(0)) fail(lost);
  }

  /**
   * A message is about to be sent (`payload`, written). A trackable one is kept for a replay, in
   * the order it is to be sent: at once, and the answer is undefined, while the buffer has room
   * and nothing waits; otherwise the answer is a promise that resolves once the server's
   * acknowledgements have made room and it is kept (after those that waited before it), and
   * rejects if the connection ends first. A client that sends faster than its server
   * acknowledges is so slowed, as the official client's sends are, and never loses what a
   * reattach replays: the buffer holds at most its size and one message. Other messages never wait.
   */
  keep(message: HubMessage, payload: string | Uint8Array): Promise<void> | undefined {
    if (!isTrackable(message.type)) return undefined;
    if (this.waiting.length === 0 && !this.full) return void this.buffer.sent(payload);
    return new Promise((go, fail) => this.waiting.push({ payload, go, fail }));
  }

  /** Keeps the messages that wait while the buffer has room, in order, and lets their sends go. */
  private letThrough(): void {
    while (this.waiting.length > 0 && !this.full) {
      const { payload, go } = this.waiting.shift()!;
      this.buffer.sent(payload);
      go();
    }
  }

  /** Whether trackable sends must wait; never while nothing is unacknowledged, whatever the size. */
  private get full(): boolean {
    const held = this.buffer.heldBytes;
    return held > 0 && held >= this.bufferSize;
  }

  /**
   * A message arrived. Returns whether to handle it: Ack and Sequence are handled here, and a
   * trackable message the server sent again after a reconnect is dropped. Throws a ProtocolError
   * for a Sequence the server cannot have sent.
   */
  received(message: HubMessage): boolean {
    switch (message.type) {
      case MessageType.Ack:
        this.buffer.acknowledged(message.sequenceId);
        this.letThrough();
        return false;
      case MessageType.Sequence:
        this.buffer.resequence(message.sequenceId);
        return false;
      default:
        return !isTrackable(message.type) || this.buffer.receivedTrackable();
    }
  }

  /** What a new socket sends first: a Sequence saying where the replay starts, then the replay. */
  replay(protocol: HubProtocol): Array<string | Uint8Array> {
    const { sequenceId, payloads } = this.buffer.replay();
    return [protocol.writeMessage({ type: MessageType.Sequence, sequenceId }), ...payloads];
  }
}
