import { decode, encode } from "@msgpack/msgpack";

// Splits what a peer sends into hub messages, whatever frames or poll bodies carried them (how
// messages are batched into frames is timing, not protocol), and renders each as one line.

export type Protocol = "json" | "msgpack";

const recordSeparator = 0x1e;

/** A hub message (or handshake reply) as sent: its bytes, and whether a text frame carried it. */
export interface WireMessage {
  bytes: Uint8Array;
  /** The framing it was cut by: the handshake reply and JSON end with 0x1e, MessagePack is length-prefixed. */
  kind: "text" | "binary" | "raw";
}

/**
 * Cuts a byte stream into messages: first the handshake reply (JSON up to 0x1e), then messages of
 * the negotiated protocol. `raw` keeps bytes as they come (the /echo endpoint).
 */
export class MessageSplitter {
  private buffer = new Uint8Array(0);
  private handshakeDone: boolean;

  constructor(
    private readonly protocol: Protocol | "raw",
    expectHandshake: boolean,
  ) {
    this.handshakeDone = !expectHandshake || protocol === "raw";
  }

  push(chunk: Uint8Array): WireMessage[] {
    if (this.protocol === "raw") return chunk.length ? [{ bytes: chunk, kind: "raw" }] : [];
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    this.buffer = joined;
    const messages: WireMessage[] = [];
    for (;;) {
      const message = this.next();
      if (!message) return messages;
      messages.push(message);
    }
  }

  /** Bytes left that make no whole message (shown when the stream ends). */
  get rest(): Uint8Array {
    return this.buffer;
  }

  private next(): WireMessage | undefined {
    if (!this.handshakeDone || this.protocol === "json") {
      const end = this.buffer.indexOf(recordSeparator);
      if (end < 0) return undefined;
      const bytes = this.buffer.slice(0, end + 1);
      this.buffer = this.buffer.slice(end + 1);
      this.handshakeDone = true;
      return { bytes, kind: "text" };
    }
    let length = 0;
    let shift = 0;
    let at = 0;
    for (;;) {
      if (at >= this.buffer.length || at > 4) return undefined;
      const byte = this.buffer[at++]!;
      length |= (byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) break;
    }
    if (this.buffer.length < at + length) return undefined;
    const bytes = this.buffer.slice(0, at + length);
    this.buffer = this.buffer.slice(at + length);
    return { bytes, kind: "binary" };
  }
}

/** One line for a message: JSON as its text, MessagePack as its decoded form and its bytes. */
export function renderMessage(message: WireMessage): string {
  const text = Buffer.from(message.bytes).toString("utf8");
  if (message.kind === "text") return text.endsWith("\x1e") ? `${text.slice(0, -1)}␞` : text;
  if (message.kind === "raw") return `raw ${JSON.stringify(text)}`;
  const prefix = message.bytes.findIndex((b) => !(b & 0x80)) + 1;
  let decoded: string;
  try {
    decoded = JSON.stringify(decode(message.bytes.subarray(prefix)), (_key, value: unknown) =>
      value instanceof Uint8Array ? `bin:${Buffer.from(value).toString("hex")}` : value,
    );
  } catch (error) {
    decoded = `undecodable (${(error as Error).message})`;
  }
  return `${decoded} ${Buffer.from(message.bytes).toString("hex")}`;
}

/** A MessagePack hub message with its length prefix. */
export function msgpackFrame(message: unknown[] | Uint8Array): Uint8Array {
  const body = message instanceof Uint8Array ? message : encode(message);
  const prefix: number[] = [];
  let length = body.length;
  do {
    let byte = length & 0x7f;
    length >>>= 7;
    if (length) byte |= 0x80;
    prefix.push(byte);
  } while (length);
  const frame = new Uint8Array(prefix.length + body.length);
  frame.set(prefix);
  frame.set(body, prefix.length);
  return frame;
}
