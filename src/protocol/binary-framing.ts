import { ProtocolError } from "./protocol-error.js";

/** The largest record a varint length prefix may announce (the official clients' limit). */
const MAX_RECORD_LENGTH = 0x7fffffff;

/**
 * Splits a binary payload into its length-prefixed records: `[varint length][body]`, repeated.
 * The length is 7-bit groups, least significant first, high bit meaning "more follows", 1 to 5
 * bytes. A record is checked against `maxRecordLength` before its bytes are looked at, and a
 * truncated record is an error: a message is never split across frames or bodies.
 */
export function splitBinaryRecords(input: Uint8Array, maxRecordLength: number | null): Uint8Array[] {
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < input.length) {
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
    if (maxRecordLength !== null && length > maxRecordLength) {
      throw new ProtocolError(
        "ERR_PROTOCOL_MESSAGE_TOO_LARGE",
        `The maximum message size of ${maxRecordLength}B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`,
      );
    }
    const start = offset + prefixBytes;
    if (start + length > input.length) throw incomplete();
    records.push(input.subarray(start, start + length));
    offset = start + length;
  }
  return records;
}

/** Prepends the varint length prefix to one encoded body. */
export function frameBinaryRecord(body: Uint8Array): Uint8Array {
  let length = body.length;
  let prefixBytes = 1;
  for (let rest = length >>> 7; rest > 0; rest >>>= 7) prefixBytes++;
  const framed = new Uint8Array(prefixBytes + length);
  let i = 0;
  do {
    let group = length & 0x7f;
    length >>>= 7;
    if (length > 0) group |= 0x80;
    framed[i++] = group;
  } while (length > 0);
  framed.set(body, prefixBytes);
  return framed;
}

function incomplete(): ProtocolError {
  return new ProtocolError("ERR_PROTOCOL_INCOMPLETE", "Incomplete message.");
}

function tooLong(): ProtocolError {
  return new ProtocolError("ERR_PROTOCOL_INVALID_PAYLOAD", "Messages over 2GB in size are not supported.");
}
