import { HubwireError } from "../errors.js";
import { ownPayload } from "../protocol/multiplex-frames.js";
import { byteLength } from "../protocol/utf8.js";

/** Messages a client may send on a channel before its hub is open: its handshake, with room to spare. */
const maxMessages = 8;
/** Bytes a client may send on a channel before its hub is open, for a hub without a message size limit. */
const maxBytesUnlimitedHub = 32 * 1024;

/**
 * What a client sent on a multiplexed channel whose hub is still being admitted (its handshake,
 * sent without waiting for `opened`; an admission may await a slow identity service), held until
 * the hub opens. Bounded to a handshake's share: the count bounds the messages, the hub's message
 * size the bytes (a handshake larger than that the hub would refuse anyway), so a connection holds
 * at most maximumHubsPerConnection times that. More is a fault of the client's.
 */
export class EarlyMessages {
  readonly messages: Array<[string | Uint8Array, Uint8Array | undefined]> = [];
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(
    private readonly channel: number,
    /** The hub's maximumReceiveMessageSize; null for a hub without one. */
    hubMaxMessageBytes: number | null,
  ) {
    this.maxBytes = hubMaxMessageBytes ?? maxBytesUnlimitedHub;
  }

  /** Keeps a copy of the payload (see ownPayload); throws ERR_MUX_MALFORMED_FRAME past the bounds. */
  hold(payload: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void {
    if (this.messages.length === maxMessages) {
      throw new HubwireError("ERR_MUX_MALFORMED_FRAME", `More than ${maxMessages} messages arrived on channel ${this.channel} before its hub was open.`);
    }
    // An ASCII frame's offsets are its bytes' (see readEnvelopes); measured before anything is copied.
    this.bytes += start === undefined ? byteLength(payload) : end! - start;
    if (this.bytes > this.maxBytes) {
      throw new HubwireError("ERR_MUX_MALFORMED_FRAME", `More than ${this.maxBytes} bytes arrived on channel ${this.channel} before its hub was open.`);
    }
    this.messages.push(ownPayload(payload, utf8, start, end));
  }
}
