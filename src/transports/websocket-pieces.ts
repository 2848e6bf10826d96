// `Buffer` imported, not the global (see websocket-frames.ts).
import { Buffer } from "node:buffer";
import type { RecordFraming } from "../protocol/hub-protocol.js";
import { noBoundary, recordBoundaries, tooLarge, unreadable, type RecordBoundaries } from "../protocol/record-boundaries.js";
import { HeldBytes } from "./held-bytes.js";

/** What reading a WebSocket's frames needs to know of its connection. */
export interface FrameSource {
  /** The framing of what the client sends, once known; undefined: every message is left whole to ws. */
  readonly recordFraming: RecordFraming | undefined;
  /** The largest message ws takes whole (its maxPayload). */
  readonly maxPayload: number;
}

/** ws's receiver, for one WebSocket: takes the bytes read from its socket, in order. */
export type FrameSink = (bytes: Buffer) => void;

/**
 * Clients gather the hub messages of a burst into one WebSocket message (the official JavaScript
 * client all those sent in one turn, the .NET client what its pipe holds, in fragments), and
 * ASP.NET Core reads any such message as a stream of hub messages. `ws` takes a message whole,
 * and only up to its maxPayload. So, for a hub connection past its handshake, a message that is
 * fragmented or larger than that is read here instead, as its bytes arrive: cut after its last
 * whole hub message so far and handed to ws as a message of its own, unmasked (a zero mask),
 * while the hub message not yet whole waits (at most maxPayload bytes: past that, ws is handed
 * a header it refuses, as it would have refused the message). Every other frame reaches ws as
 * it came, so what ws took before it takes the same way. Only a connection whose reads end
 * within a frame has a reader between reads (see `readers`).
 */
export class FrameReader {
  /** The start of a frame's header that the last read ended in, held from ws until it is whole. */
  private partialHeader: Buffer | undefined;
  /** Bytes still to come of a frame that goes to ws as it is. */
  private passing = 0;
  /** ws is inside a fragmented message it reads itself (begun before the framing was known). */
  private wsInFragments = false;
  /** The message read in pieces, while it lasts. */
  private message: PiecedMessage | undefined;
  /** ws was handed what it refuses: it reads nothing more, and neither does this. */
  private refused = false;

  /** Whether the reader has nothing to carry to the next read. */
  get idle(): boolean {
    return this.partialHeader === undefined && this.passing === 0 && !this.wsInFragments && this.message === undefined && !this.refused;
  }

  /** Hands what `chunk` holds to `sink`, in order: frames as they are, messages read in pieces cut. */
  read(chunk: Buffer, source: FrameSource, sink: FrameSink): void {
    if (this.refused) return;
    let bytes = chunk;
    if (this.partialHeader) {
      bytes = Buffer.concat([this.partialHeader, chunk]);
      this.partialHeader = undefined;
    }
    const end = bytes.length;
    let at = 0;
    let passFrom = 0; // bytes from here to `at` go to ws as they are
    while (at < end) {
      if (this.passing > 0) {
        const step = Math.min(this.passing, end - at);
        this.passing -= step;
        at += step;
        continue;
      }
      if (this.message?.inPayload) {
        if (passFrom < at) sink(bytes.subarray(passFrom, at));
        at = this.message.take(bytes, at, end, source.maxPayload, sink);
        passFrom = at;
        if (this.message.refused) return void (this.refused = true);
        if (this.message.ended) this.message = undefined;
        continue;
      }
      const header = readHeader(bytes, at, end);
      if (!header) {
        if (passFrom < at) sink(bytes.subarray(passFrom, at));
        this.partialHeader = Buffer.from(bytes.subarray(at, end));
        return;
      }
      const kind = this.classify(header, source);
      if (kind === "pass") {
        this.passing = header.length;
        at += header.size;
        continue;
      }
      if (passFrom < at) sink(bytes.subarray(passFrom, at));
      if (kind === "breaksMessage") {
        // A data frame inside the message under way: ws, told that a fragmented message has
        // begun, refuses it as it would have.
        sink(frameHead(header.opcode, 0, false));
        sink(bytes.subarray(at, at + header.size));
        this.message = undefined;
        this.refused = true;
        return;
      }
      at += header.size;
      passFrom = at;
      if (kind === "startPieces") this.message = new PiecedMessage(header, source.recordFraming!);
      else this.message!.nextFrame(header, sink);
      if (this.message?.ended) this.message = undefined;
    }
    if (passFrom < end) sink(bytes.subarray(passFrom, end));
  }

  /** What becomes of a frame whose header was just read. */
  private classify(header: Header, source: FrameSource): "pass" | "startPieces" | "nextPiece" | "breaksMessage" {
    const { opcode, fin } = header;
    if (!header.validData) return "pass"; // control frames, and what ws will refuse
    if (this.message) return opcode === 0 ? "nextPiece" : "breaksMessage";
    if (this.wsInFragments || opcode === 0) {
      if (fin) this.wsInFragments = false;
      return "pass";
    }
    if (source.recordFraming !== undefined && (!fin || header.length > source.maxPayload)) return "startPieces";
    if (!fin) this.wsInFragments = true;
    return "pass";
  }
}

/** A frame's header, as read from `bytes` at `at`: `size` its bytes, `length` its payload's. */
interface Header {
  readonly bytes: Buffer;
  readonly at: number;
  readonly fin: boolean;
  readonly opcode: number;
  /** A masked data frame with no extension bits: one ws takes. */
  readonly validData: boolean;
  readonly length: number;
  readonly size: number;
}

/** The header at `at`, or undefined if `bytes` ends before it does. */
function readHeader(bytes: Buffer, at: number, end: number): Header | undefined {
  const size = headerSize(bytes, at, end);
  if (size === 0) return undefined;
  const b0 = bytes[at]!;
  const opcode = b0 & 0x0f;
  const validData = (bytes[at + 1]! & 0x80) !== 0 && (b0 & 0x70) === 0 && opcode <= 0x2;
  return { bytes, at, fin: (b0 & 0x80) !== 0, opcode, validData, length: payloadLength(bytes, at), size };
}

/** The size of the header at `at`, or 0 if `bytes` ends before it does. */
function headerSize(bytes: Buffer, at: number, end: number): number {
  if (end - at < 2) return 0;
  const b1 = bytes[at + 1]!;
  const length = b1 & 0x7f;
  const size = (length === 126 ? 4 : length === 127 ? 10 : 2) + (b1 & 0x80 ? 4 : 0);
  return end - at < size ? 0 : size;
}

/** The payload length the whole header at `at` announces. */
function payloadLength(bytes: Buffer, at: number): number {
  const length = bytes[at + 1]! & 0x7f;
  if (length === 126) return bytes.readUInt16BE(at + 2);
  if (length === 127) return bytes.readUInt32BE(at + 2) * 2 ** 32 + bytes.readUInt32BE(at + 6);
  return length;
}

/**
 * Whether `chunk` is whole frames that ws takes as they are: control frames, and unfragmented
 * messages of at most `maxPayload` bytes. The common read; it needs no reader.
 */
export function holdsWholeFrames(chunk: Buffer, maxPayload: number): boolean {
  const end = chunk.length;
  let at = 0;
  while (at < end) {
    const size = headerSize(chunk, at, end);
    if (size === 0) return false;
    const b0 = chunk[at]!;
    const length = payloadLength(chunk, at);
    if ((b0 & 0x0f) < 0x8 && (!(b0 & 0x80) || (b0 & 0x0f) === 0 || length > maxPayload)) return false;
    at += size + length;
  }
  return at === end;
}

/**
 * The header of a client frame (masked, with a zero mask: its payload as it is) of `opcode`
 * announcing `length` bytes.
 */
function frameHead(opcode: number, length: number, fin = true): Buffer {
  const size = length < 126 ? 6 : length < 65_536 ? 8 : 14;
  const head = Buffer.alloc(size);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) head[1] = 0x80 | length;
  else if (length < 65_536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length >>> 0, 6);
  }
  return head;
}

/**
 * A message read in pieces: its frames' payloads unmasked as they arrive, cut after the last
 * whole hub message, each cut handed to ws as a message of the same opcode.
 */
class PiecedMessage {
  /** The payload of the frame under way has bytes still to come. */
  inPayload = true;
  /** The message's last frame has been read, and what it held handed on. */
  ended = false;
  /** The message broke the bound: ws was handed a header it refuses. */
  refused = false;
  private readonly opcode: number;
  private readonly records: RecordBoundaries;
  private frameLeft: number;
  private lastFrame: boolean;
  private readonly mask = Buffer.alloc(4);
  private maskOffset = 0;
  /** Unmasked bytes of a hub message not yet whole. */
  private readonly held = new HeldBytes();
  /** Where a hub message ends could not be read: the rest is handed on as it comes. */
  private unframed = false;

  constructor(first: Header, framing: RecordFraming) {
    this.opcode = first.opcode;
    this.records = recordBoundaries(framing);
    this.frameLeft = 0;
    this.lastFrame = false;
    this.nextFrame(first, undefined);
  }

  /** The next frame of the message (its first, or a continuation); `sink` if it may end the message. */
  nextFrame(header: Header, sink: FrameSink | undefined): void {
    this.frameLeft = header.length;
    this.lastFrame = header.fin;
    header.bytes.copy(this.mask, 0, header.at + header.size - 4, header.at + header.size);
    this.maskOffset = 0;
    this.inPayload = true;
    if (sink) this.endFrameIfDone(sink);
    else if (this.frameLeft === 0) this.inPayload = false; // an empty first frame, never the last
  }

  /** Takes the payload bytes of `bytes[at, end)` that belong to the frame; returns where they end. */
  take(bytes: Buffer, at: number, end: number, maxPayload: number, sink: FrameSink): number {
    const step = Math.min(this.frameLeft, end - at);
    this.frameLeft -= step;
    const piece = Buffer.allocUnsafe(step);
    const mask = this.mask;
    for (let i = 0; i < step; i++) piece[i] = bytes[at + i]! ^ mask[(this.maskOffset + i) & 3]!;
    this.maskOffset = (this.maskOffset + step) & 3;
    // Hands on the whole hub messages found, as few messages as fit within maxPayload each.
    let from = 0;
    let cut = 0;
    for (let next = this.unframed ? noBoundary : this.records.next(piece, 0, maxPayload); next !== noBoundary; next = this.records.next(piece, next, maxPayload)) {
      if (next === tooLarge) {
        if (cut > from) this.handOn(piece.subarray(from, cut), sink);
        return this.refuse(maxPayload, sink, at + step);
      }
      if (next === unreadable) {
        // Where a hub message ends cannot be read: the rest goes on as it comes, for the hub to refuse.
        this.unframed = true;
        break;
      }
      if (this.held.length + next - from > maxPayload && cut > from) {
        this.handOn(piece.subarray(from, cut), sink);
        from = cut;
      }
      cut = next;
    }
    if (this.unframed) cut = step;
    if (cut > from) this.handOn(piece.subarray(from, cut), sink);
    if (cut < step) {
      this.held.hold(piece.subarray(cut));
      if (this.held.length > maxPayload) return this.refuse(maxPayload, sink, at + step);
    }
    this.endFrameIfDone(sink);
    return at + step;
  }

  private endFrameIfDone(sink: FrameSink): void {
    if (this.frameLeft > 0) return;
    this.inPayload = false;
    if (!this.lastFrame) return;
    this.ended = true;
    // A hub message not whole at the message's end is handed on as it is: the hub refuses it,
    // as it refuses one split across two messages.
    if (this.held.length > 0) this.handOn(undefined, sink);
  }

  /** Hands what is held, and then `whole` (the rest of the hub messages made whole), to ws as one message. */
  private handOn(whole: Buffer | undefined, sink: FrameSink): void {
    const payload = this.held.takeWith(whole);
    sink(frameHead(this.opcode, payload.length));
    sink(payload);
  }

  private refuse(maxPayload: number, sink: FrameSink, end: number): number {
    this.refused = true;
    this.held.clear();
    sink(frameHead(this.opcode, maxPayload + 1));
    return end;
  }
}
