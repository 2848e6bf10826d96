/**
 * The values the MessagePack plain writers write themselves (see writePlainCompletion and
 * writePlainInvocation): nil, booleans, numbers and ASCII strings of at most 255 characters, byte
 * for byte as the general encoder writes them (64-bit integers on). Anything else is left to it.
 */

/** Strings up to this many characters are written here; longer ones go to the general encoder. */
const MAX_STRING = 255;

const float = new DataView(new ArrayBuffer(8));

/** The bytes `value` takes, or -1 when it is not a plain value. */
export function plainValueSize(value: unknown): number {
  switch (typeof value) {
    case "string":
      return asciiStringSize(value);
    case "number":
      return numberSize(value);
    case "boolean":
      return 1;
    default:
      return value === null ? 1 : -1;
  }
}

/**
 * The bytes a string of at most {@link MAX_STRING} characters takes if they are ASCII, or -1.
 * Whether they are is found out while writing it, to read the string once.
 */
export function asciiStringSize(text: string): number {
  const length = text.length;
  return length > MAX_STRING ? -1 : (length < 32 ? 1 : 2) + length;
}

// Integers as the general encoder writes them with 64-bit integers on: the smallest of fixint,
// 8, 16 and 32 bits; every other number (fractions, larger integers) as a float 64.
function numberSize(value: number): number {
  if (!Number.isSafeInteger(value)) return 9;
  if (value >= 0) return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : value < 0x100000000 ? 5 : 9;
  return value >= -0x20 ? 1 : value >= -0x80 ? 2 : value >= -0x8000 ? 3 : value >= -0x80000000 ? 5 : 9;
}

/**
 * Writes a value plainValueSize accepted, in the bytes it gave; returns the index after it, or
 * -1 if it was a string with a non-ASCII character.
 */
export function writePlainValue(record: Uint8Array, at: number, value: unknown): number {
  if (typeof value === "string") return writeAsciiString(record, at, value);
  if (typeof value !== "number") {
    record[at] = value === null ? 0xc0 : value === true ? 0xc3 : 0xc2;
    return at + 1;
  }
  const size = numberSize(value);
  writeNumber(record, at, value, size);
  return at + size;
}

/** Writes a string as fixstr or str 8; returns the index after it, or -1 at a non-ASCII character. */
export function writeAsciiString(record: Uint8Array, at: number, text: string): number {
  const length = text.length;
  if (length < 32) record[at++] = 0xa0 + length;
  else {
    record[at++] = 0xd9;
    record[at++] = length;
  }
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return -1;
    record[at++] = code;
  }
  return at;
}

/** Writes a number in the `size` bytes numberSize gave for it. */
function writeNumber(record: Uint8Array, at: number, value: number, size: number): void {
  if (size === 9) {
    record[at++] = 0xcb;
    float.setFloat64(0, value);
    for (let i = 0; i < 8; i++) record[at++] = float.getUint8(i);
  } else if (size === 1) {
    record[at] = value & 0xff; // a fixint, positive or negative
  } else {
    // uint 8/16/32 or int 8/16/32, big-endian: the low `size - 1` bytes of the two's complement.
    record[at++] = (value >= 0 ? UINT_HEADS : INT_HEADS)[size]!;
    for (let shift = (size - 2) * 8; shift >= 0; shift -= 8) record[at++] = (value >>> shift) & 0xff;
  }
}

/** Type bytes by the size numberSize gives: 8, 16 and 32 bits. */
const UINT_HEADS = [0, 0, 0xcc, 0xcd, 0, 0xce];
const INT_HEADS = [0, 0, 0xd0, 0xd1, 0, 0xd2];
