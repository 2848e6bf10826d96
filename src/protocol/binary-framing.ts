import { allocBytes } from "./byte-pool.js";
import { messageTooLarge, ProtocolError } from "./protocol-error.js";

/** The largest record a varint length prefix may announce (the official clients' limit). */
const MAX_RECORD_LENGTH = 0x7fffffff;

/**
 * Walks a binary payload's length-prefixed records, `[varint length][body]` repeated, by
 * position: after each `next()` that returns true the record is `input[start, end)`, with no
 * view made of it. The length is 7-bit groups, least significant first, high bit meaning "more
 * follows", 1 to 5 bytes. A record is checked against `maxRecordLength` before its bytes are
 * looked at, and a truncated record is an error: a message is never split across frames or bodies.
 */
export class BinaryRecordCursor {
  start = 0;
  end = 0;

  constructor(
    private readonly input: Uint8Array,
    private readonly maxRecordLength: number | null,
  ) {}

  /** Moves to the next record; false once the input is used up. */
  next(): boolean {
    const input = this.input;
    const offset = this.end;
    if (offset >= input.length) return false;
    let length = 0;
    let shift = 0;
    let byte: number;
    let prefixBytes = 0;
    do {
      if (offset + prefixBytes >= input.length) throw incomplete();
      if (prefixBytes === 5) throw tooLong();
      byte = input[offset + prefixBytes]!;
      length += (byte & 0x7f) * 2 ** shift; // not `<<`: the fifth group would overflow 32-bit ints
      shift += 7;
      prefixBytes++;
    } while (byte & 0x80);
    if (length > MAX_RECORD_LENGTH) throw tooLong();
    if (this.maxRecordLength !== null && length > this.maxRecordLength) {
      throw messageTooLarge(this.maxRecordLength);
    }
    const start = offset + prefixBytes;
    if (start + length > input.length) throw incomplete();
    this.start = start;
    this.end = start + length;
    return true;
  }
}

/** Splits a binary payload into its length-prefixed records (see {@link BinaryRecordCursor}). */
export function splitBinaryRecords(input: Uint8Array, maxRecordLength: number | null): Uint8Array[] {
  const records: Uint8Array[] = [];
  const cursor = new BinaryRecordCursor(input, maxRecordLength);
  while (cursor.next()) records.push(input.subarray(cursor.start, cursor.end));
  return records;
}

/** How many bytes the varint prefix of a `length`-byte record takes. */
export function lengthPrefixSize(length: number): number {
  let prefixBytes = 1;
  for (let rest = length >>> 7; rest > 0; rest >>>= 7) prefixBytes++;
  return prefixBytes;
}

/** Writes the varint prefix of a `length`-byte record at `at`; returns the index after it. */
export function writeLengthPrefix(target: Uint8Array, at: number, length: number): number {
  do {
    let group = length & 0x7f;
    length >>>= 7;
    if (length > 0) group |= 0x80;
    target[at++] = group;
  } while (length > 0);
  return at;
}

/** Prepends the varint length prefix to one encoded body. */
export function frameBinaryRecord(body: Uint8Array): Uint8Array {
  const prefixBytes = lengthPrefixSize(body.length);
  const framed = allocBytes(prefixBytes + body.length);
  writeLengthPrefix(framed, 0, body.length);
  framed.set(body, prefixBytes);
  return framed;
}

function incomplete(): ProtocolError {
  return new ProtocolError("ERR_PROTOCOL_INCOMPLETE", "Incomplete message.");
}

function tooLong(): ProtocolError {
  return new ProtocolError("ERR_PROTOCOL_INVALID_PAYLOAD", "Messages over 2GB in size are not supported.");
}
