import { lengthPrefixSize, writeLengthPrefix } from "./binary-framing.js";
import { viewOf } from "./typed-array-access.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/**
 * hubwire's multiplexing envelope (docs/multiplexing.md): several hubs over one physical
 * connection, each on a channel of its own. Every message of the physical connection holds one
 * or more envelopes, each `[channel][length][payload]`:
 *
 * - text (JSON hubs; the only kind Server-Sent Events carry): `<channel>,<length>;<payload>`,
 *   decimal, the length in UTF-16 code units of the payload;
 * - binary: the channel and the length as varints (as binary framing writes lengths), then the
 *   payload's bytes.
 *
 * Channel 0 is the connection's own: an empty payload is a ping, any other is a JSON control
 * message ({@link ControlMessage}). The payload of any other channel is what a hub connection
 * would send or receive on a transport of its own, handshake included.
 */

/** Channel numbers are varints of at most 4 bytes, and at most 9 decimal digits. */
export const maxChannel = 0x0fffffff;

/** The channel of the connection's own control messages and pings. */
export const controlChannel = 0;

/** A control message of channel 0. */
export type ControlMessage =
  /**
   * Client: open `path`'s hub on `channel` (greater than any channel this connection has used).
   * `format` is the hub protocol's: a text hub's payloads on a binary connection are UTF-8.
   */
  | { type: "open"; channel: number; path: string; format?: "Text" | "Binary" }
  /**
   * Server: the hub is open; its connection id is the hub's `this.context.connectionId`. Where
   * the endpoint serves authentication refresh, how long the token the hub was opened with lasts.
   */
  | { type: "opened"; channel: number; connectionId: string; tokenLifetimeSeconds?: number }
  /** Server: the hub was not opened; `statusCode` as an HTTP endpoint would have answered. */
  | { type: "refused"; channel: number; code: string; message: string; statusCode: number }
  /** Either side: the hub connection on `channel` is over. */
  | { type: "close"; channel: number }
  /** Server: the physical connection ends because of this fault (sent just before it closes). */
  | { type: "error"; code: string; message: string };

/** A frame that breaks the envelope's rules; the physical connection ends with it. */
export class MultiplexFrameError extends Error {
  readonly code = "ERR_MUX_MALFORMED_FRAME";
}

/** The text envelope of `payload` on `channel`. */
export function writeTextEnvelope(channel: number, payload: string): string {
  return `${channel},${payload.length};${payload}`;
}

/** The binary envelope of `payload` on `channel`; a string is carried as its UTF-8 bytes. */
export function writeBinaryEnvelope(channel: number, payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === "string" ? encodeUtf8(payload) : payload;
  const header = binaryEnvelopeHeaderSize(channel, bytes.length);
  const frame = new Uint8Array(header + bytes.length);
  writeBinaryEnvelopeHeader(frame, 0, channel, bytes.length);
  frame.set(bytes, header);
  return frame;
}

/** How many bytes the text envelope header `<channel>,<length>;` takes (ASCII: one byte a character). */
export function textEnvelopeHeaderSize(channel: number, length: number): number {
  return decimalDigits(channel) + decimalDigits(length) + 2;
}

/**
 * Writes the text envelope header of a `length`-character payload on `channel` as ASCII bytes
 * at `at` (where a transport frames the payload's bytes after it); returns where the payload starts.
 */
export function writeTextEnvelopeHeader(target: Uint8Array, at: number, channel: number, length: number): number {
  at = writeDecimal(target, at, channel);
  target[at++] = 44; // ,
  at = writeDecimal(target, at, length);
  target[at++] = 59; // ;
  return at;
}

/** How many bytes the binary envelope header of a `length`-byte payload on `channel` takes. */
export function binaryEnvelopeHeaderSize(channel: number, length: number): number {
  return lengthPrefixSize(channel) + lengthPrefixSize(length);
}

/** Writes the binary envelope header (two varints) at `at`; returns where the payload starts. */
export function writeBinaryEnvelopeHeader(target: Uint8Array, at: number, channel: number, length: number): number {
  return writeLengthPrefix(target, writeLengthPrefix(target, at, channel), length);
}

/** Digits of a channel or a length: both below 2^31, so integer steps will do. */
function decimalDigits(value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = (rest / 10) | 0) digits++;
  return digits;
}

function writeDecimal(target: Uint8Array, at: number, value: number): number {
  const end = at + decimalDigits(value);
  let i = end;
  do {
    // Integer division: a double's `%` is a call into the engine's runtime.
    const rest = (value / 10) | 0;
    target[--i] = 48 + value - rest * 10;
    value = rest;
  } while (value > 0);
  return end;
}

/** The envelope of a control message, text or binary as the physical connection is. */
export function writeControl(message: ControlMessage | null, binary: boolean): string | Uint8Array {
  const payload = message === null ? "" : JSON.stringify(message);
  return binary ? writeBinaryEnvelope(controlChannel, payload) : writeTextEnvelope(controlChannel, payload);
}

/**
 * Called for each envelope of a frame, in order. A binary payload is a view (a plain Uint8Array)
 * into the frame. A text payload is a string of its own, or, when the frame's UTF-8 bytes were
 * given and are ASCII, the frame's text itself with those bytes, `start` and `end` saying where
 * the payload is (see ConnectionReceiver.onData): a hub reads it in place.
 */
export type EnvelopeVisitor = (channel: number, payload: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number) => void;

/**
 * Reads every envelope of one physical message; throws a {@link MultiplexFrameError} for a
 * malformed or truncated one (envelopes never span messages). `utf8`: a text message's bytes,
 * when the transport has them.
 */
export function readEnvelopes(input: string | Uint8Array, visit: EnvelopeVisitor, utf8?: Uint8Array): void {
  if (typeof input === "string") readTextEnvelopes(input, visit, utf8);
  else readBinaryEnvelopes(input, visit);
}

function readTextEnvelopes(input: string, visit: EnvelopeVisitor, utf8: Uint8Array | undefined): void {
  // An ASCII frame's characters are its bytes, at the same offsets: a hub's parser reads those
  // faster than the string, and in place (no string and no view cut for each payload).
  const bytes = utf8 !== undefined && utf8.length === input.length ? utf8 : undefined;
  let at = 0;
  while (at < input.length) {
    const channel = readDecimal(input, at, 44 /* , */);
    const length = readDecimal(input, decimalEnd, 59 /* ; */);
    const start = decimalEnd;
    const end = start + length;
    if (end > input.length) throw malformed("An envelope is longer than its frame.");
    if (bytes === undefined) visit(channel, input.slice(start, end));
    else visit(channel, input, bytes, start, end);
    at = end;
  }
}

/**
 * A payload the visitor was given, as its own: a copy of what a frame whose buffer the transport
 * may reuse held (a text payload as its text alone, and its bytes, if given).
 */
export function ownPayload(
  payload: string | Uint8Array,
  utf8: Uint8Array | undefined,
  start: number | undefined,
  end: number | undefined,
): [string | Uint8Array, Uint8Array | undefined] {
  // Copied by Uint8Array's constructor: a Buffer's `slice` would be a view.
  if (typeof payload !== "string") return [new Uint8Array(payload), undefined];
  if (start === undefined) return [payload, undefined]; // a text payload of its own comes without bytes
  // The text made anew from the copied bytes: a slice would be a view that keeps the whole frame.
  const bytes = new Uint8Array(viewOf(utf8!, start, end! - start));
  return [decodeUtf8(bytes), bytes];
}

/** Where the last {@link readDecimal} ended (after its terminator): no object per number read. */
let decimalEnd = 0;

/** Reads a decimal number at `at` that ends with the character `terminator`; sets `decimalEnd`. */
function readDecimal(input: string, at: number, terminator: number): number {
  let value = 0;
  for (let i = at; i < input.length && i - at <= 10; i++) {
    const code = input.charCodeAt(i);
    if (code === terminator) {
      if (i === at) break;
      decimalEnd = i + 1;
      return value;
    }
    if (code < 48 || code > 57) break;
    value = value * 10 + (code - 48);
  }
  throw malformed("An envelope's header is not `<channel>,<length>;`.");
}

function readBinaryEnvelopes(input: Uint8Array, visit: EnvelopeVisitor): void {
  let at = 0;
  while (at < input.length) {
    const channel = readVarint(input, at);
    const length = readVarint(input, varintEnd);
    const start = varintEnd;
    const end = start + length;
    if (end > input.length) throw malformed("An envelope is longer than its frame.");
    visit(channel, viewOf(input, start, length));
    at = end;
  }
}

/** Where the last {@link readVarint} ended. */
let varintEnd = 0;

/** Reads a varint of at most 5 bytes at `at`; sets `varintEnd`. */
function readVarint(input: Uint8Array, at: number): number {
  let value = 0;
  for (let i = 0; i < 5 && at + i < input.length; i++) {
    const byte = input[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      varintEnd = at + i + 1;
      return value;
    }
  }
  throw malformed("An envelope's header is not two varints.");
}

/** Parses a control message's payload; throws a {@link MultiplexFrameError} for one it cannot be. */
export function readControl(payload: string | Uint8Array): ControlMessage | null {
  const text = typeof payload === "string" ? payload : decodeUtf8(payload);
  if (text.length === 0) return null; // a ping
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw malformed("A control message is not JSON.");
  }
  if (!isControl(message)) throw malformed("A control message has an unknown type or lacks a field.");
  return message;
}

function isControl(value: unknown): value is ControlMessage {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  const channel = typeof m.channel === "number" && Number.isInteger(m.channel) && m.channel > 0 && m.channel <= maxChannel;
  switch (m.type) {
    case "open":
      return channel && typeof m.path === "string";
    case "opened":
      return channel && typeof m.connectionId === "string";
    case "refused":
      return channel && typeof m.code === "string" && typeof m.message === "string" && typeof m.statusCode === "number";
    case "close":
      return channel;
    case "error":
      return typeof m.code === "string" && typeof m.message === "string";
    default:
      return false;
  }
}

function malformed(message: string): MultiplexFrameError {
  return new MultiplexFrameError(message);
}
