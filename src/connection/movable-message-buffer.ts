import { MessageBuffer } from "../protocol/message-buffer.js";

/** A MessageBuffer as it moves to another server with its connection (see MovableMessageBuffer). */
export interface MessageBufferState {
  unacked: Array<[id: number, payload: string | Uint8Array]>;
  lastSentId: number;
  received: number;
  lastAcked: number;
  duplicates: number;
  /**
   * Rebuilt from a checkpoint after its server died (crash recovery): the client may have had
   * acks for later messages from that server, and say so in its Sequence.
   */
  recovered?: boolean;
}

/**
 * The server's MessageBuffer, which can move with its connection to another server. Kept apart
 * from MessageBuffer, which the client bundles too.
 */
export class MovableMessageBuffer extends MessageBuffer {
  /** See MessageBufferState.recovered. */
  private recovered = false;

  /** What another server needs to go on where this one stops. */
  get state(): MessageBufferState {
    const { lastSentId, received, lastAcked, duplicates } = this;
    const state: MessageBufferState = { unacked: this.unacked.map(({ id, payload }) => [id, payload]), lastSentId, received, lastAcked, duplicates };
    if (this.recovered) state.recovered = true; // moving on before its client came back
    return state;
  }

  /**
   * The client's Sequence. After a crash recovery, one past what the checkpoint counted means
   * the dead server received and acknowledged those messages after its checkpoint: they were
   * handled there, and the count goes on from the client's.
   */
  override resequence(sequenceId: number): void {
    if (this.recovered && sequenceId > this.received + 1) this.received = sequenceId - 1;
    this.recovered = false;
    super.resequence(sequenceId);
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
    buffer.recovered = state.recovered === true;
    return buffer;
  }
}
