import { joinPayloads, maxMessageSize } from "./payloads.js";
import type { ClientTransport } from "./transports/transport.js";

// A burst of sends in one turn goes in as many messages of maxMessageSize as it takes, in order.

/**
 * Sends the envelopes of one turn of the event loop in one message of a shared connection's
 * transport (a frame holds any number of envelopes, up to maxMessageSize): hubs opened together,
 * or calls made together on several hubs, cost one frame, and one POST on long polling, where
 * the sends of a connection go one at a time.
 */
export class EnvelopeOutbox {
  private envelopes: Array<string | Uint8Array> | undefined;
  private size = 0;
  private sent: Promise<void> | undefined;

  constructor(private readonly transport: ClientTransport) {}

  /** Resolves once the message holding `envelope` has gone, as the transport's send does. */
  send(envelope: string | Uint8Array): Promise<void> {
    const size = typeof envelope === "string" ? envelope.length : envelope.byteLength;
    if (!this.envelopes || this.size + size > maxMessageSize) {
      const envelopes: Array<string | Uint8Array> = (this.envelopes = []);
      this.size = 0;
      this.sent = Promise.resolve().then(() => this.flush(envelopes));
    }
    this.envelopes.push(envelope);
    this.size += size;
    return this.sent!;
  }

  private flush(envelopes: Array<string | Uint8Array>): Promise<void> {
    if (this.envelopes === envelopes) this.envelopes = undefined;
    return this.transport.send(joinPayloads(envelopes));
  }
}
