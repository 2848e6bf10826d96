import { isTrackable, MessageBuffer } from "../src/protocol/message-buffer.js";
import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { MessageType, type HubMessage } from "../src/protocol/messages.js";
import type { Resumable } from "./transports/transport.js";

/** The waits before each attempt to reattach a dropped WebSocket; after the last, the connection is lost. */
export const reattachDelaysMs = [0, 1000, 2000, 5000];

/**
 * The client's half of stateful reconnect (the server's is the same MessageBuffer): it keeps what
 * it sent until the server acknowledges it, counts what it received (acknowledged once a second,
 * and used to drop what the server sends again after a reconnect), and knows how a new
 * WebSocket (or a hub's channel on a multiplexer's new one) reattaches to the connection.
 */
export class StatefulLink {
  private readonly buffer: MessageBuffer;
  private readonly ackTimer: ReturnType<typeof setInterval>;
  /** From a drop until a new socket has taken over: trackable messages wait for the replay. */
  reattaching = false;

  constructor(
    /** Opens the connection's next transport. */
    readonly resumable: Resumable,
    bufferSize: number,
    /** Sends an Ack: the server keeps what it sent until then. Called once a second when due, as the official client does. */
    acknowledge: (sequenceId: number) => void,
  ) {
    this.buffer = new MessageBuffer(bufferSize);
    this.ackTimer = setInterval(() => {
      const sequenceId = this.reattaching ? undefined : this.buffer.ackDue();
      if (sequenceId !== undefined) acknowledge(sequenceId);
    }, 1000);
    (this.ackTimer as { unref?: () => void }).unref?.();
  }

  /** The connection is over: no more acknowledgements. */
  close(): void {
    clearInterval(this.ackTimer);
  }

  /** False once more went unacknowledged than the buffer holds: a drop then loses the connection. */
  get canReattach(): boolean {
    return !this.buffer.overflowed;
  }

  /**
   * A message is about to be sent. Trackable ones are kept for a replay; the answer says whether
   * to send it now (not while reattaching: it goes with the replay, or is not needed, a ping).
   */
  sending(message: HubMessage, payload: string | Uint8Array): boolean {
    if (isTrackable(message.type)) this.buffer.sent(payload);
    return !this.reattaching;
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
