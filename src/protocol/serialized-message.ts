import type { HubProtocol } from "./hub-protocol.js";
import type { HubMessage } from "./messages.js";

/**
 * A message that is encoded at most once per protocol, however many connections it is sent to.
 * A broadcast builds one of these and hands it to every recipient; the first JSON recipient pays
 * for the JSON encoding, the first MessagePack recipient for the MessagePack one.
 */
export class SerializedHubMessage {
  // Almost every broadcast meets one protocol only: keep that case in two fields, no Map.
  private firstProtocol: HubProtocol | undefined;
  private firstPayload: string | Uint8Array | undefined;
  private others: Map<HubProtocol, string | Uint8Array> | undefined;

  /** `encoded`: payloads another server already made, by protocol name; used as they are. */
  constructor(
    readonly message: HubMessage,
    private readonly encoded?: Readonly<Record<string, string | Uint8Array>>,
  ) {}

  /** The framed bytes of this message in `protocol`, encoded on first use. */
  payloadFor(protocol: HubProtocol): string | Uint8Array {
    if (this.firstProtocol === protocol) return this.firstPayload!;
    if (this.firstProtocol === undefined) {
      this.firstProtocol = protocol;
      return (this.firstPayload = this.encode(protocol));
    }
    let payload = this.others?.get(protocol);
    if (payload === undefined) {
      payload = this.encode(protocol);
      (this.others ??= new Map()).set(protocol, payload);
    }
    return payload;
  }

  private encode(protocol: HubProtocol): string | Uint8Array {
    return this.encoded?.[protocol.name] ?? protocol.writeMessage(this.message);
  }
}
