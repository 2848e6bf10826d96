import type { LogWriter } from "../logger.js";
import type { HubProtocol } from "../protocol/hub-protocol.js";
import { SerializedHubMessage } from "../protocol/serialized-message.js";
import { lifetimeLog } from "./lifetime-log.js";

/** What a send carries across the backplane: the framed invocation by protocol name (`json`, `messagepack`). */
export type SendPayloads = Record<string, string | Uint8Array>;

/**
 * A hub's sends as they cross the backplane: encoded once in every protocol of the hub by the
 * sending server, and read back by the others without encoding them again.
 */
export class SendCodec {
  constructor(
    private readonly protocols: readonly HubProtocol[],
    private readonly log: LogWriter,
    private readonly hubName: string,
  ) {}

  /** The invocation as every hub protocol encodes it (the local sends already made some of these). */
  encode(message: SerializedHubMessage): SendPayloads {
    const payloads: SendPayloads = {};
    for (const protocol of this.protocols) payloads[protocol.name] = message.payloadFor(protocol);
    return payloads;
  }

  /**
   * A received send, ready for local connections: the sender's payloads are written as they are;
   * the message is decoded once per server (not per recipient) for a protocol the sender lacked.
   * Undefined (and logged) when none of them can be read.
   */
  decode(payloads: SendPayloads): SerializedHubMessage | undefined {
    for (const protocol of this.protocols) {
      const payload = payloads[protocol.name];
      if (payload === undefined) continue;
      try {
        const [message] = protocol.parseMessages(payload);
        if (message) return new SerializedHubMessage(message, payloads);
      } catch (error) {
        this.log.write(lifetimeLog.undecodableMessage, { hub: this.hubName, error });
        return undefined;
      }
    }
    this.log.write(lifetimeLog.noProtocolForMessage, { hub: this.hubName });
    return undefined;
  }
}
