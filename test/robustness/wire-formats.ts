import { JsonHubProtocol, NullLogger, type HubMessage, type IHubProtocol, type MessageType } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { decode, encode } from "@msgpack/msgpack";
import { lengthPrefixed, mutateBytes, mutateText, mutateValue, splitLengthPrefixed, type Random } from "./mutations.js";

// The hub protocols' frames as the official client writes and reads them, and mutated by hand
// (mutations.ts): what the mutation tests and `npm run conformance:mutations` send.

const RS = "\u001e";

/** A hub protocol's frames: written and read by the official client's protocol, mutated by hand. */
export interface WireFormat {
  name: string;
  protocol: IHubProtocol;
  frame(message: HubMessage): string | Uint8Array;
  mutate(frame: string | Uint8Array, random: Random): string | Uint8Array;
}

const json = new JsonHubProtocol();
const messagePack = new MessagePackHubProtocol();

export const wireFormats: WireFormat[] = [
  {
    name: "JSON",
    protocol: json,
    frame: (message) => json.writeMessage(message) as string,
    // The record separator stays at the end: a frame that ends without it waits for the rest,
    // which the Echo that follows would be taken for.
    mutate(frame, random) {
      const text = (frame as string).slice(0, -1);
      return (random(2) === 0 ? mutateText(text, random) : JSON.stringify(mutateValue(JSON.parse(text), random))) + RS;
    },
  },
  {
    name: "MessagePack",
    protocol: messagePack,
    frame: (message) => new Uint8Array(messagePack.writeMessage(message) as ArrayBuffer),
    // The length prefix is made for the mutated message, for the same reason.
    mutate(frame, random) {
      const message = splitLengthPrefixed(frame as Uint8Array)[0]!;
      return lengthPrefixed(random(2) === 0 ? mutateBytes(message, random) : encode(mutateValue(decode(message), random)));
    },
  },
];

/**
 * A mutated frame to POST (long polling, Server-Sent Events). A POST body is bytes that no
 * WebSocket layer checks for UTF-8 first: an eighth of the JSON frames have their bytes mutated,
 * so text that is not UTF-8 reaches the hub protocol.
 */
export function mutatedPostBody(format: WireFormat, frame: string | Uint8Array, random: Random): string | Uint8Array {
  if (format.name !== "JSON" || random(8) !== 0) return format.mutate(frame, random);
  const bytes = new TextEncoder().encode((frame as string).slice(0, -1));
  return new Uint8Array([...mutateBytes(bytes, random), 0x1e]);
}

/** Each protocol, with stateful reconnect off and on: the mutation tests' cases. */
export const statefulVariants = wireFormats.flatMap((format) =>
  [false, true].map((stateful) => ({ format, stateful, name: `${format.name}${stateful ? ", stateful" : ""}` })),
);

/**
 * The messages in `data` as the official client's protocol reads them. A JSON frame may come as
 * bytes (a POST body, whose UTF-8 a mutation may have broken): it is read as the text they decode to.
 */
export function readFrame(data: string | Uint8Array, protocol: IHubProtocol): HubMessage[] {
  const input = typeof data === "string" ? data : protocol.name === "json" ? new TextDecoder().decode(data) : data.slice().buffer;
  return protocol.parseMessages(input as string & ArrayBuffer, NullLogger.instance);
}

/**
 * Whether a frame holds a well-formed message of `type`, as the official client's protocol reads
 * it: a Close is the client's own way to end its connection; a Sequence rewinds a stateful link.
 */
export function holds(frame: string | Uint8Array, protocol: IHubProtocol, type: MessageType): boolean {
  try {
    return readFrame(frame, protocol).some((m) => m.type === type);
  } catch {
    return false;
  }
}

/** A frame as a failure names it: its text, or its bytes in hex. */
export function describeFrame(frame: string | Uint8Array): string {
  return typeof frame === "string" ? JSON.stringify(frame) : Buffer.from(frame).toString("hex");
}
