import { MessageBuffer } from "../protocol/message-buffer.js";

/** A MessageBuffer as it moves to another server with its connection (see MovableMessageBuffer). */
export interface MessageBufferState {
  unacked: Array<[id: number, payload: string | Uint8Array]>;
  lastSentId: number;
  received: number;
  lastAcked: number;
  duplicates: number;
}

/**
 * The server's MessageBuffer, which can move with its connection to another server. Kept apart
 * from MessageBuffer, which the client bundles too.
 */
export class MovableMessageBuffer extends MessageBuffer {
  /** What another server needs to go on where this one stops. */
  get state(): MessageBufferState {
    const { lastSentId, received, lastAcked, duplicates } = this;
    return { unacked: this.unacked.map(({ id, payload }) => [id, payload]), lastSentId, received, lastAcked, duplicates };
  }

  /** A buffer that goes on from `state`, taken from another server. */
  static from(limit: number, state: MessageBufferState): MovableMessageBuffer {
    const buffer = new MovableMessageBuffer(limit);
    for (const [id, payload] of state.unacked) {
      buffer.unacked.push({ id, payload });
      buffer.bytes += typeof payload === "string" ? payload.length : payload.byteLength;
    }
    buffer.lastSentId = state.lastSentId;
    buffer.received = state.received;
    buffer.lastAcked = state.lastAcked;
    buffer.duplicates = state.duplicates;
    return buffer;
  }
}
