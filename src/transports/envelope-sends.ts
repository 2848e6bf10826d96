import { writeBinaryEnvelope, writeTextEnvelope } from "../protocol/multiplex-frames.js";
import { decodeUtf8 } from "../protocol/utf8.js";
import type { SharedEnvelope } from "./multiplex-settings.js";
import type { TransportConnection } from "./transport-connection.js";

/**
 * Sends a hub's `data` in the envelope of its `channel` over a multiplexed connection's
 * transport. `shared` (see Transport.send): a broadcast's envelope is made once for every hub on
 * the same channel, through `cache`, the endpoint's last one. For a text envelope (`binary`
 * false), bytes are a text hub's message already encoded (see Transport.sendEnvelope).
 */
export function sendEnvelope(
  physical: TransportConnection,
  binary: boolean,
  cache: SharedEnvelope,
  channel: number,
  data: string | Uint8Array,
  shared: boolean,
): void {
  // A WebSocket frames the envelope itself, header and payload in one buffer.
  if (physical.framesEnvelopes) return physical.sendEnvelope(channel, data, binary, shared);
  if (!shared) return physical.send(envelopeOf(channel, data, binary));
  if (cache.data !== data || cache.channel !== channel || cache.binary !== binary) {
    cache.envelope = envelopeOf(channel, data, binary);
    cache.data = data;
    cache.channel = channel;
    cache.binary = binary;
  }
  // The same envelope object for each: the transport's frame of it is made once too.
  physical.send(cache.envelope, true);
}

function envelopeOf(channel: number, data: string | Uint8Array, binary: boolean): string | Uint8Array {
  if (binary) return writeBinaryEnvelope(channel, data);
  return writeTextEnvelope(channel, typeof data === "string" ? data : decodeUtf8(data));
}
