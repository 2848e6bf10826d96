import { ProtocolError } from "./protocol-error.js";

/** Invocation, StreamItem, Completion, StreamInvocation and CancelInvocation: the messages stateful reconnect numbers. */
export function isTrackable(type: number): boolean {
  return type >= 1 && type <= 5;
}

/**
 * Both directions' bookkeeping of stateful reconnect (ASP.NET Core's MessageBuffer): the
 * trackable messages sent and not yet acknowledged, kept to be sent again after the transport
 * is replaced, and the count of those received, acknowledged to the client and used to drop
 * the ones it sends again. Each side numbers its trackable messages 1, 2, 3, ... for the life of
 * the connection.
 */
export class MessageBuffer {
  protected readonly unacked: Array<{ id: number; payload: string | Uint8Array }> = [];
  protected bytes = 0;
  protected lastSentId = 0;
  protected received = 0;
  protected lastAcked = 0;
  /** Messages the client is sending again that were already handled: dropped as they arrive. */
  protected duplicates = 0;

  /**
   * More than `limit` bytes went unacknowledged, so what the client missed can no longer be
   * replayed: the connection must end on its next drop rather than resume with a gap.
   */
  overflowed = false;

  /** `limit`: bytes of unacknowledged messages held; past it the buffer gives up (see `overflowed`). */
  constructor(private readonly limit: number) {}

  /** Bytes of the messages kept (UTF-16 code units of text). */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Keeps a trackable message just sent, until the client acknowledges it. */
  sent(payload: string | Uint8Array): void {
    const id = ++this.lastSentId;
    if (this.overflowed) return;
    this.unacked.push({ id, payload });
    this.bytes += typeof payload === "string" ? payload.length : payload.byteLength;
    if (this.bytes > this.limit) {
      this.overflowed = true;
      this.unacked.length = 0;
      this.bytes = 0;
    }
  }

  /** The client has received everything up to `sequenceId`. */
  acknowledged(sequenceId: number): void {
    let drop = 0;
    while (drop < this.unacked.length && this.unacked[drop]!.id <= sequenceId) {
      const { payload } = this.unacked[drop++]!;
      this.bytes -= typeof payload === "string" ? payload.length : payload.byteLength;
    }
    this.unacked.splice(0, drop);
  }

  /** A trackable message arrived; false when it is one the client sent again and was already handled. */
  receivedTrackable(): boolean {
    if (this.duplicates > 0) {
      this.duplicates--;
      return false;
    }
    this.received++;
    return true;
  }

  /** The client's Sequence after a reconnect: its next trackable message has this id. */
  resequence(sequenceId: number): void {
    if (sequenceId > this.received + 1) {
      throw new ProtocolError("ERR_PROTOCOL_INVALID_PAYLOAD", "Sequence ID greater than amount of messages we've received.");
    }
    // Before any message arrived none can come again, whatever id the client starts from (as .NET counts).
    this.duplicates = this.received === 0 ? 0 : this.received + 1 - sequenceId;
    // The peer still holds everything from `sequenceId` on: an Ack past it was lost with the old
    // transport (written into the dying socket, or dropped while the connection waited). It is due
    // again, or the peer would keep those messages for good, and a peer whose sends wait for room
    // in its buffer (hubwire's client) would wait for ever: what it sends again is dropped here
    // as already handled, so nothing new arrives to be acknowledged.
    this.lastAcked = Math.min(this.lastAcked, sequenceId - 1);
  }

  /** The id to acknowledge when trackable messages arrived since the last Ack, else undefined. */
  ackDue(): number | undefined {
    if (this.received === this.lastAcked) return undefined;
    return (this.lastAcked = this.received);
  }

  /** What to send on a new transport: the id of the first replayed message, then the messages. */
  replay(): { sequenceId: number; payloads: Array<string | Uint8Array> } {
    return { sequenceId: this.unacked[0]?.id ?? this.lastSentId + 1, payloads: this.unacked.map((m) => m.payload) };
  }
}
