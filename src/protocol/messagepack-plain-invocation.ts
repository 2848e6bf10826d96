import { append } from "./append.js";
import { lengthPrefixSize, writeLengthPrefix } from "./binary-framing.js";
import { allocBytes } from "./byte-pool.js";
import { MessageType, type InvocationMessage } from "./messages.js";
import { asciiStringSize, plainValueSize, writeAsciiString, writePlainValue } from "./messagepack-plain-values.js";

/**
 * Reads the record nearly every call is, `[1, {}, "7", "Echo", [...]]` (five elements, or six
 * with empty stream ids, as the official clients write it) whose arguments are strings, numbers,
 * booleans or nil, straight from the bytes `[start, end)`. The general decoder sets up its state,
 * a DataView and a view of the record for every message: several times the work of reading one.
 *
 * Anything else (headers, stream ids, another message type, a map, array, binary, extension or
 * 64-bit argument, a string that is not UTF-8, bytes after the array) returns undefined and is
 * read by the general decoder, so both give the same message for every record and the general
 * path alone reports errors.
 */
export function readPlainInvocation(bytes: Uint8Array, start: number, end: number): InvocationMessage | undefined {
  if (end - start < 5) return undefined;
  const head = bytes[start];
  if ((head !== FIXARRAY_5 && head !== FIXARRAY_6) || bytes[start + 1] !== MessageType.Invocation) return undefined;
  const headers = bytes[start + 2];
  if (headers !== EMPTY_MAP) return undefined;

  const reader = new PlainReader(bytes, start + 3, end);
  let invocationId: string | undefined;
  if (bytes[reader.at] === NIL) reader.at++;
  else if ((invocationId = reader.string()) === undefined || invocationId.length === 0) return undefined;
  const target = reader.string();
  if (target === undefined || target.length === 0) return undefined;
  const args = reader.arguments();
  if (args === undefined) return undefined;
  if (head === FIXARRAY_6) {
    const streamIds = reader.next();
    if (streamIds !== EMPTY_ARRAY) return undefined;
  }
  if (reader.at !== end) return undefined;

  // The same shapes as the general reader's messages, so code that reads them sees few object layouts.
  // Made with its id or without, not given one later: an added field would need a property store
  // of its own (about 30 bytes more per call, measured).
  return invocationId !== undefined
    ? { type: MessageType.Invocation, invocationId, target, arguments: args }
    : { type: MessageType.Invocation, target, arguments: args };
}

/**
 * Writes the record a hub's call of a client function is, an Invocation without headers or
 * stream ids whose target is ASCII and whose arguments (at most 15) are nil, booleans, numbers or
 * short ASCII strings, framed, byte for byte as the general encoder writes it: `[1, {}, id or nil,
 * target, [...], []]` (six elements, as .NET writes them). A send to one connection is encoded
 * for it alone, so its encoding is part of every such send.
 *
 * Returns undefined for anything else, which the general encoder writes.
 */
export function writePlainInvocation(message: InvocationMessage): Uint8Array | undefined {
  const { invocationId, target, arguments: args } = message;
  if ((message.streamIds !== undefined && message.streamIds.length > 0) || args.length > MAX_FIXARRAY) return undefined;
  const idSize = invocationId === undefined ? 1 : asciiStringSize(invocationId);
  const targetSize = asciiStringSize(target);
  if (idSize < 0 || targetSize < 0) return undefined;
  let argsSize = 1;
  for (const arg of args) {
    const size = plainValueSize(arg);
    if (size < 0) return undefined;
    argsSize += size;
  }

  const bodySize = 3 + idSize + targetSize + argsSize + 1; // array head, type, headers, ..., stream ids
  const prefixSize = lengthPrefixSize(bodySize);
  const record = allocBytes(prefixSize + bodySize);
  let at = writeLengthPrefix(record, 0, bodySize);
  record[at++] = FIXARRAY_6;
  record[at++] = MessageType.Invocation;
  record[at++] = EMPTY_MAP; // no headers, as .NET writes them
  if (invocationId === undefined) record[at++] = NIL;
  else if ((at = writeAsciiString(record, at, invocationId)) < 0) return undefined;
  if ((at = writeAsciiString(record, at, target)) < 0) return undefined;
  record[at++] = EMPTY_ARRAY + args.length;
  for (const arg of args) if ((at = writePlainValue(record, at, arg)) < 0) return undefined;
  record[at] = EMPTY_ARRAY; // no stream ids
  return record;
}

/** Arguments past a fixarray's 15 go to the general encoder. */
const MAX_FIXARRAY = 15;

const FIXARRAY_5 = 0x95;
const FIXARRAY_6 = 0x96;
const EMPTY_ARRAY = 0x90;
const EMPTY_MAP = 0x80;
const NIL = 0xc0;

/** Up to this many bytes, building a string from character codes beats a TextDecoder call. */
const SHORT_STRING = 32;

// `fatal`: bytes that are not UTF-8 go to the general decoder; `ignoreBOM`: a leading U+FEFF is
// part of the string, not a marker to drop.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const float = new DataView(new ArrayBuffer(8));

/** A position in the record and the plain values read from it; undefined means "not plain". */
class PlainReader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
    private readonly end: number,
  ) {}

  /** The next byte, or -1 past the end (where the next record's bytes may be). */
  next(): number {
    return this.at < this.end ? this.bytes[this.at++]! : -1;
  }

  /** A fixarray of plain values. */
  arguments(): unknown[] | undefined {
    const head = this.next();
    if (head < 0x90 || head > 0x9f) return undefined;
    let args: unknown[] | undefined;
    for (let i = head - 0x90; i > 0; i--) {
      const value = this.value();
      if (value === undefined) return undefined;
      args = append(args, value);
    }
    return args ?? [];
  }

  string(): string | undefined {
    const head = this.next();
    if (head >= 0xa0 && head <= 0xbf) return this.utf8(head - 0xa0);
    if (head === 0xd9) return this.utf8(this.uint(1));
    if (head === 0xda) return this.utf8(this.uint(2));
    return undefined;
  }

  private value(): unknown {
    const head = this.next();
    if (head < 0) return undefined;
    if (head <= 0x7f) return head; // positive fixint
    if (head >= 0xe0) return head - 0x100; // negative fixint
    if (head >= 0xa0 && head <= 0xbf) return this.utf8(head - 0xa0);
    switch (head) {
      case NIL:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        return this.number(1);
      case 0xcd:
        return this.number(2);
      case 0xce:
        return this.number(4);
      case 0xd0:
        return this.signed(1, 0x80);
      case 0xd1:
        return this.signed(2, 0x8000);
      case 0xd2:
        return this.signed(4, 0x80000000);
      case 0xca:
        return this.float(4);
      case 0xcb:
        return this.float(8);
      case 0xd9:
        return this.utf8(this.uint(1));
      case 0xda:
        return this.utf8(this.uint(2));
      default:
        return undefined; // maps, arrays, binary, extensions, 64-bit integers, str 32
    }
  }

  /** A big-endian unsigned integer of `size` bytes, or -1 past the end. */
  private uint(size: number): number {
    if (this.at + size > this.end) return -1;
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.bytes[this.at++]!;
    return value;
  }

  private number(size: number): number | undefined {
    const value = this.uint(size);
    return value < 0 ? undefined : value;
  }

  private signed(size: number, half: number): number | undefined {
    const value = this.uint(size);
    if (value < 0) return undefined;
    return value >= half ? value - 2 * half : value;
  }

  private float(size: 4 | 8): number | undefined {
    if (this.at + size > this.end) return undefined;
    for (let i = 0; i < size; i++) float.setUint8(i, this.bytes[this.at++]!);
    return size === 4 ? float.getFloat32(0) : float.getFloat64(0);
  }

  /** `length` bytes of UTF-8; undefined when they run past the end or are not UTF-8. */
  private utf8(length: number): string | undefined {
    const from = this.at;
    const to = from + length;
    if (length < 0 || to > this.end) return undefined;
    this.at = to;
    if (length <= SHORT_STRING) return shortAscii(this.bytes, from, to) ?? decodeUtf8(this.bytes, from, to);
    // The general decoder's TextDecoder drops a leading byte order mark from long strings:
    // leaving those to it keeps the two paths alike.
    if (this.bytes[from] === 0xef && this.bytes[from + 1] === 0xbb && this.bytes[from + 2] === 0xbf) return undefined;
    return decodeUtf8(this.bytes, from, to);
  }
}

/** `[from, to)` as a string if every byte is ASCII: eight characters per call, then one by one. */
function shortAscii(bytes: Uint8Array, from: number, to: number): string | undefined {
  let text = "";
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const c0 = bytes[i]!, c1 = bytes[i + 1]!, c2 = bytes[i + 2]!, c3 = bytes[i + 3]!; // prettier-ignore
    const c4 = bytes[i + 4]!, c5 = bytes[i + 5]!, c6 = bytes[i + 6]!, c7 = bytes[i + 7]!; // prettier-ignore
    if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) > 0x7f) return undefined;
    text += String.fromCharCode(c0, c1, c2, c3, c4, c5, c6, c7);
  }
  for (; i < to; i++) {
    const code = bytes[i]!;
    if (code > 0x7f) return undefined;
    text += String.fromCharCode(code);
  }
  return text;
}

function decodeUtf8(bytes: Uint8Array, from: number, to: number): string | undefined {
  try {
    return utf8.decode(bytes.subarray(from, to));
  } catch {
    return undefined;
  }
}
