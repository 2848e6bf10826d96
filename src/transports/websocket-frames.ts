/**
 * Data frames from a server, as RFC 6455 §5.2 lays them out: FIN set, no extension bits (hubwire
 * never negotiates compression), no mask (only clients mask), then a 7-bit, 16-bit or 64-bit
 * payload length. Written here rather than through `ws`'s `send`: each send builds an options
 * object literal with a computed key, and in server processes where V8 leaves it unoptimised it
 * is defined property by property in the engine's runtime, about 13,000 instructions a message,
 * more than the rest of a small echo call's server work. Writing frames here also builds header
 * and payload in one buffer (one write, not a corked writev) and, for a broadcast, once for all.
 */

// `Buffer` imported, not the global: Node defines the global as a getter, which each use calls
// (about 150 instructions, twice a reply on the echo path). So for `process` and `performance`.
import { Buffer } from "node:buffer";
import { byteLengthOf, copyInto } from "../protocol/typed-array-access.js";
import { binaryEnvelopeHeaderSize, textEnvelopeHeaderSize, writeBinaryEnvelopeHeader, writeTextEnvelopeHeader } from "../protocol/multiplex-frames.js";

export const TEXT_OPCODE = 0x1;
export const BINARY_OPCODE = 0x2;
export type DataOpcode = typeof TEXT_OPCODE | typeof BINARY_OPCODE;

/** Payloads up to this size are copied behind their header and written as one buffer. */
export const COPY_LIMIT = 16 * 1024;

/** A text frame holding `text` in UTF-8, header and payload in one buffer. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text, "utf8");
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.write(text, writeHeader(frame, TEXT_OPCODE, length), "utf8");
  return frame;
}

/** A binary frame holding `payload`, header and payload in one buffer (a copy of the payload). */
export function binaryFrame(payload: Uint8Array): Buffer {
  return bytesFrame(BINARY_OPCODE, payload, byteLengthOf.call(payload) as number);
}

/**
 * A frame of `opcode` holding `bytes` (`length` of them: a binary payload, or text already
 * encoded as UTF-8), header and payload in one buffer (a copy of the bytes).
 */
export function bytesFrame(opcode: DataOpcode, bytes: Uint8Array, length: number): Buffer {
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  copyInto.call(frame, bytes, writeHeader(frame, opcode, length));
  return frame;
}

/**
 * A text frame holding the text envelope of `text` on `channel` (docs/multiplexing.md): frame
 * header, envelope header and the text's UTF-8 written into one buffer, with no envelope string
 * joined first. `text` may come as its bytes already, if ASCII (see Transport.sendUtf8): its
 * length in characters, which the envelope's header gives, is then its length in bytes.
 */
export function textEnvelopeFrame(channel: number, text: string | Uint8Array): Buffer {
  if (typeof text !== "string") return asciiEnvelopeFrame(channel, text, byteLengthOf.call(text) as number);
  const length = textEnvelopeHeaderSize(channel, text.length) + Buffer.byteLength(text, "utf8");
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.write(text, writeTextEnvelopeHeader(frame, writeHeader(frame, TEXT_OPCODE, length), channel, text.length), "utf8");
  return frame;
}

function asciiEnvelopeFrame(channel: number, ascii: Uint8Array, characters: number): Buffer {
  const length = textEnvelopeHeaderSize(channel, characters) + characters;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  copyInto.call(frame, ascii, writeTextEnvelopeHeader(frame, writeHeader(frame, TEXT_OPCODE, length), channel, characters));
  return frame;
}

/**
 * A binary frame holding the binary envelope of `payload` on `channel`, in one buffer: the
 * payload copied once (a string written as its UTF-8). Up to {@link COPY_LIMIT} bytes; past it,
 * see {@link binaryEnvelopeFrameHeader}.
 */
export function binaryEnvelopeFrame(channel: number, payload: string | Uint8Array): Buffer {
  const text = typeof payload === "string";
  const bytes = text ? Buffer.byteLength(payload, "utf8") : payload.byteLength;
  const length = binaryEnvelopeHeaderSize(channel, bytes) + bytes;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const at = writeBinaryEnvelopeHeader(frame, writeHeader(frame, BINARY_OPCODE, length), channel, bytes);
  if (text) frame.write(payload, at, "utf8");
  else frame.set(payload, at);
  return frame;
}

/** The frame header and envelope header of a binary envelope whose `bytes`-byte payload is written after them (not copied). */
export function binaryEnvelopeFrameHeader(channel: number, bytes: number): Buffer {
  const length = binaryEnvelopeHeaderSize(channel, bytes) + bytes;
  const header = Buffer.allocUnsafe(headerLength(length) + length - bytes);
  writeBinaryEnvelopeHeader(header, writeHeader(header, BINARY_OPCODE, length), channel, bytes);
  return header;
}

/** Just the header of a frame whose payload is written after it (large payloads, not copied). */
export function frameHeader(opcode: DataOpcode, length: number): Buffer {
  const header = Buffer.allocUnsafe(headerLength(length));
  writeHeader(header, opcode, length);
  return header;
}

function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** Writes the header at the start of `target`; returns where the payload starts. */
function writeHeader(target: Buffer, opcode: DataOpcode, length: number): number {
  target[0] = 0x80 | opcode;
  if (length < 126) {
    target[1] = length;
    return 2;
  }
  if (length < 65_536) {
    target[1] = 126;
    target.writeUInt16BE(length, 2);
    return 4;
  }
  target[1] = 127;
  // 64 bits, written as two 32-bit halves: a payload never reaches 2^53 bytes.
  target.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  target.writeUInt32BE(length >>> 0, 6);
  return 10;
}
