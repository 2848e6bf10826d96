import type { HubMessage } from "./messages.js";

export type TransferFormat = "Text" | "Binary";

/**
 * How the hub messages a client sends are delimited in a transport's message: "text", each ends
 * with the record separator (JSON, the handshake included); "binary", each follows its varint
 * length (MessagePack).
 */
export type RecordFraming = "text" | "binary";

/** What a protocol's parser needs to know about the connection it reads for. */
export interface ParseOptions {
  /** Largest single message accepted, in bytes; `null` or absent means no limit. */
  maximumMessageSize?: number | null;
  /**
   * For text input: the UTF-8 bytes it was decoded from, when the transport still has them. A
   * parser may read structure from them, which is cheaper than reading a string; it returns the
   * same messages as without them.
   */
  utf8?: Uint8Array;
  /**
   * For text input with its `utf8` bytes, one byte a character: the message is only
   * `input[start, end)`, a part of a larger one (a multiplexed hub's envelope), and `utf8` holds
   * the larger one's bytes. Only a protocol that `readsParts` is given a part so (see
   * ConnectionSession); others are given the part alone.
   */
  start?: number;
  end?: number;
}

/**
 * Turns bytes into hub messages and back. Implementations are pure: no I/O, no Node APIs,
 * so the same code runs in the server and in browsers.
 */
export interface HubProtocol {
  /** The name a client asks for in its handshake: "json" or "messagepack". */
  readonly name: string;
  readonly version: number;
  readonly transferFormat: TransferFormat;
  /** `parseMessages` reads a part of its input in place (ParseOptions.start and end). */
  readonly readsParts?: boolean;
  /** Whether a client asking for `version` in its handshake can be served. */
  isVersionSupported(version: number): boolean;
  /**
   * Parses every complete message in `input`. Throws a {@link ProtocolError} naming the fault
   * when the input is malformed or incomplete; unknown message types are skipped.
   */
  parseMessages(input: string | Uint8Array, options?: ParseOptions): HubMessage[];
  /** Serializes one message, framing included. */
  writeMessage(message: HubMessage): string | Uint8Array;
}
