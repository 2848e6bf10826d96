import { append } from "./append.js";
import { MessageType, type InvocationMessage } from "./messages.js";
import { decodeUtf8 } from "./utf8.js";

/**
 * Reads the record nearly every call is, `{"type":1,"invocationId":"7","target":"Echo","arguments":[…]}`
 * with its keys in any order (the official JavaScript client puts `arguments` first), from the
 * UTF-8 bytes the text was decoded from. The engine's JSON.parse of the envelope looks up every
 * key and short value in its string table, and reading a string one character at a time costs
 * several times more than reading bytes; so the structure is read from the bytes, and only the
 * arguments go through JSON.parse, sliced from the text.
 *
 * `text` and `bytes` hold the record at the same positions, `[start, end)`: callers pass them only
 * when the text has one character per byte.
 *
 * Anything else (whitespace, escapes or non-ASCII in the id or target, another key, a repeated
 * key, another message type) returns undefined and is read by the full parser, so both give the
 * same message for every record and the full parser alone reports errors.
 */
export function parsePlainInvocation(text: string, bytes: Uint8Array, start: number, end: number): InvocationMessage | undefined {
  if (bytes[start] !== OPEN_BRACE || bytes[end - 1] !== CLOSE_BRACE) return undefined;
  const fields: PlainFields = { type: false, invocationId: undefined, target: undefined, argumentsAt: -1 };

  // From the front, up to the arguments (or the end).
  let at = start + 1;
  for (;;) {
    const next = readPair(text, bytes, at, end, fields);
    if (next < 0) return undefined;
    if (fields.argumentsAt >= 0) break;
    if (bytes[next] !== COMMA) return undefined; // another key, or the end without arguments
    at = next + 1;
  }

  // From the back, the pairs after the arguments, down to the array's closing bracket.
  let argumentsEnd = end - 1;
  while (bytes[argumentsEnd - 1] !== CLOSE_BRACKET) {
    argumentsEnd = readPairBackwards(text, bytes, argumentsEnd, fields);
    if (argumentsEnd <= fields.argumentsAt) return undefined;
  }

  if (!fields.type || fields.target === undefined) return undefined;
  let args = readPlainArguments(text, bytes, fields.argumentsAt, argumentsEnd);
  if (args === undefined) {
    let parsed: unknown;
    try {
      // One JSON value or an error: a slice that is not exactly the array leaves the fast path.
      parsed = JSON.parse(text.slice(fields.argumentsAt, argumentsEnd));
    } catch {
      return undefined;
    }
    if (!Array.isArray(parsed)) return undefined;
    args = parsed;
  }
  // The same shapes as the full parser's messages, so code that reads them sees few object layouts.
  // Made with its id or without, not given one later: an added field would need a property store
  // of its own (about 30 bytes more per call, measured).
  const { invocationId, target } = fields;
  return invocationId !== undefined
    ? { type: MessageType.Invocation, invocationId, target, arguments: args }
    : { type: MessageType.Invocation, target, arguments: args };
}

interface PlainFields {
  type: boolean;
  invocationId: string | undefined;
  target: string | undefined;
  /** Where the arguments' array begins, once its key has been read. */
  argumentsAt: number;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const asciiBytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const TYPE_PAIR = asciiBytes('"type":1');
const ARGUMENTS_KEY = asciiBytes('"arguments":[');
const INVOCATION_ID_KEY = asciiBytes('"invocationId":"');
const TARGET_KEY = asciiBytes('"target":"');
const TYPE_PAIR_AFTER_COMMA = asciiBytes(',"type":1');
const INVOCATION_ID_KEY_AFTER_COMMA = asciiBytes(',"invocationId":');
const TARGET_KEY_AFTER_COMMA = asciiBytes(',"target":');

/** Whether `bytes` hold `literal` at `at` (a literal never holds the record separator, so it cannot match past a record's end). */
function holds(bytes: Uint8Array, at: number, literal: Uint8Array): boolean {
  if (at < 0) return false;
  for (let i = 0; i < literal.length; i++) if (bytes[at + i] !== literal[i]) return false;
  return true;
}

/**
 * Reads `"key":value` at `at`; returns the index after it, or -1 when it is not a plain pair.
 * For `arguments` only the key is read: its value's start is recorded.
 */
function readPair(text: string, bytes: Uint8Array, at: number, end: number, fields: PlainFields): number {
  // The key's second letter tells the four apart: one comparison per pair.
  switch (bytes[at + 2]) {
    case 0x79: // "type"
      if (fields.type || !holds(bytes, at, TYPE_PAIR)) return -1;
      fields.type = true;
      return at + TYPE_PAIR.length;
    case 0x72: // "arguments"
      if (!holds(bytes, at, ARGUMENTS_KEY)) return -1;
      fields.argumentsAt = at + ARGUMENTS_KEY.length - 1;
      return fields.argumentsAt;
    case 0x6e: {
      // "invocationId"
      if (fields.invocationId !== undefined || !holds(bytes, at, INVOCATION_ID_KEY)) return -1;
      const from = at + INVOCATION_ID_KEY.length;
      const close = plainStringEnd(bytes, from, end);
      if (close <= from) return -1; // not closed, or empty
      fields.invocationId = ownString(text, bytes, from, close);
      return close + 1;
    }
    case 0x61: {
      // "target"
      if (fields.target !== undefined || !holds(bytes, at, TARGET_KEY)) return -1;
      const from = at + TARGET_KEY.length;
      const close = plainStringEnd(bytes, from, end);
      if (close <= from) return -1;
      fields.target = ownString(text, bytes, from, close);
      return close + 1;
    }
    default:
      return -1;
  }
}

/** Reads `,"key":value` ending just before `end`; returns where it begins, or -1. */
function readPairBackwards(text: string, bytes: Uint8Array, end: number, fields: PlainFields): number {
  if (bytes[end - 1] !== QUOTE) {
    const pairStart = end - TYPE_PAIR_AFTER_COMMA.length;
    if (fields.type || !holds(bytes, pairStart, TYPE_PAIR_AFTER_COMMA)) return -1;
    fields.type = true;
    return pairStart;
  }
  let open = end - 2;
  while (open >= 0 && bytes[open] !== QUOTE) open--;
  // A value of at least one plain character, closed by the quote before `end`.
  if (open < 0 || open + 1 === end - 1 || plainStringEnd(bytes, open + 1, end) !== end - 1) return -1;
  if (holds(bytes, open - INVOCATION_ID_KEY_AFTER_COMMA.length, INVOCATION_ID_KEY_AFTER_COMMA)) {
    if (fields.invocationId !== undefined) return -1;
    fields.invocationId = ownString(text, bytes, open + 1, end - 1);
    return open - INVOCATION_ID_KEY_AFTER_COMMA.length;
  }
  if (holds(bytes, open - TARGET_KEY_AFTER_COMMA.length, TARGET_KEY_AFTER_COMMA)) {
    if (fields.target !== undefined) return -1;
    fields.target = ownString(text, bytes, open + 1, end - 1);
    return open - TARGET_KEY_AFTER_COMMA.length;
  }
  return -1;
}

/**
 * The arguments `[from, end)` when they are plain strings, small integers, booleans or null,
 * read without JSON.parse (whose fixed cost is most of a short call's parse); otherwise
 * undefined, and JSON.parse reads them.
 */
function readPlainArguments(text: string, bytes: Uint8Array, from: number, end: number): unknown[] | undefined {
  let args: unknown[] | undefined;
  let at = from + 1; // after the opening bracket
  if (bytes[at] === CLOSE_BRACKET) return at + 1 === end ? [] : undefined;
  for (;;) {
    const byte = bytes[at];
    let value: unknown;
    if (byte === QUOTE) {
      const close = plainStringEnd(bytes, at + 1, end);
      if (close < 0) return undefined;
      value = ownString(text, bytes, at + 1, close);
      at = close + 1;
    } else if (byte === 0x2d || (byte! >= 0x30 && byte! <= 0x39)) {
      const after = smallIntegerEnd(bytes, at);
      if (after < 0) return undefined;
      value = smallIntegerValue(bytes, at, after);
      at = after;
    } else if (holds(bytes, at, TRUE)) {
      value = true;
      at += TRUE.length;
    } else if (holds(bytes, at, FALSE)) {
      value = false;
      at += FALSE.length;
    } else if (holds(bytes, at, NULL)) {
      value = null;
      at += NULL.length;
    } else {
      return undefined;
    }
    args = append(args, value);
    if (bytes[at] === CLOSE_BRACKET) return at + 1 === end ? args : undefined;
    if (bytes[at] !== COMMA) return undefined;
    at++;
  }
}

/**
 * `text[from, to)` as a string a hub may keep. In V8 a slice of 13 characters or more is a view
 * of the whole text: kept (a chat message in a room's history, a group name), it would keep the
 * frame it came in alive, up to a megabyte for a few bytes. Past a small frame the string is
 * made anew from its bytes; in a small one a view costs no more than the frame.
 */
function ownString(text: string, bytes: Uint8Array, from: number, to: number): string {
  return text.length <= smallFrame ? text.slice(from, to) : decodeUtf8(bytes.subarray(from, to));
}

/** Characters of a frame whose strings may stay views of it. */
const smallFrame = 1024;

const TRUE = asciiBytes("true");
const FALSE = asciiBytes("false");
const NULL = asciiBytes("null");

/**
 * The end of an integer of at most 15 digits at `at` (exact in a double, as JSON.parse would
 * read it), or -1 for anything else (a fraction, an exponent, a leading zero, a longer number),
 * which JSON.parse then reads or rejects.
 */
function smallIntegerEnd(bytes: Uint8Array, at: number): number {
  const first = bytes[at] === 0x2d ? at + 1 : at;
  let i = first;
  while (bytes[i]! >= 0x30 && bytes[i]! <= 0x39) i++;
  const digits = i - first;
  if (digits === 0 || digits > 15 || (digits > 1 && bytes[first] === 0x30)) return -1;
  const next = bytes[i];
  if (next === 0x2e || next === 0x65 || next === 0x45) return -1; // ".", "e", "E"
  return i;
}

/** The value of the integer {@link smallIntegerEnd} found at `[at, end)`. */
function smallIntegerValue(bytes: Uint8Array, at: number, end: number): number {
  const negative = bytes[at] === 0x2d;
  let value = 0;
  for (let i = negative ? at + 1 : at; i < end; i++) value = value * 10 + bytes[i]! - 0x30;
  return negative ? -value : value;
}

/**
 * The index of the quote closing a string that begins at `from`, or -1 if there is none before
 * `end` or the string holds an escape, a control character or a non-ASCII byte.
 */
function plainStringEnd(bytes: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE) return i;
    if (byte === BACKSLASH || byte < 0x20 || byte > 0x7e) return -1;
  }
  return -1;
}
