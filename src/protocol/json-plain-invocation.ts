import { MessageType, type InvocationMessage } from "./messages.js";

/**
 * Reads the record nearly every call is, `{"type":1,"invocationId":"7","target":"Echo","arguments":[…]}`
 * with its keys in any order (the official JavaScript client puts `arguments` second), without
 * the engine's JSON.parse for the envelope: that parse looks up every key and short value in the
 * engine's string table, which costs more than the rest of reading a small call. Only the
 * arguments go through JSON.parse.
 *
 * Anything else (whitespace, escapes in the id or target, another key, a repeated key, another
 * message type) returns undefined and is read by the full parser, so both give the same message
 * for every record and the full parser alone reports errors.
 */
export function parsePlainInvocation(record: string): InvocationMessage | undefined {
  if (record.charCodeAt(0) !== OPEN_BRACE || record.charCodeAt(record.length - 1) !== CLOSE_BRACE) return undefined;
  const fields: PlainFields = { type: false, invocationId: undefined, target: undefined, argumentsAt: -1 };

  // From the front, up to the arguments (or the end).
  let at = 1;
  for (;;) {
    const next = readPair(record, at, fields);
    if (next < 0) return undefined;
    if (fields.argumentsAt >= 0) break;
    if (record.charCodeAt(next) === CLOSE_BRACE) return undefined; // no arguments
    if (record.charCodeAt(next) !== COMMA) return undefined;
    at = next + 1;
  }

  // From the back, the pairs after the arguments, down to the array's closing bracket.
  let end = record.length - 1;
  while (record.charCodeAt(end - 1) !== CLOSE_BRACKET) {
    end = readPairBackwards(record, end, fields);
    if (end < 0) return undefined;
  }

  if (!fields.type || fields.target === undefined) return undefined;
  let args: unknown;
  try {
    // One JSON value or an error: a slice that is not exactly the array leaves the fast path.
    args = JSON.parse(record.slice(fields.argumentsAt, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(args)) return undefined;
  // The same shape as the full parser's message, so code that reads it sees one object layout.
  const message: InvocationMessage = { type: MessageType.Invocation, target: fields.target, arguments: args };
  if (fields.invocationId !== undefined) message.invocationId = fields.invocationId;
  return message;
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

/**
 * Reads `"key":value` at `at`; returns the index after it, or -1 when it is not a plain pair.
 * For `arguments` only the key is read: its value's start is recorded.
 */
function readPair(record: string, at: number, fields: PlainFields): number {
  // The key's second letter tells the four apart: one comparison per pair.
  switch (record.charCodeAt(at + 2)) {
    case 0x79: // "type"
      if (fields.type || !record.startsWith('"type":1', at)) return -1;
      fields.type = true;
      return at + 8;
    case 0x72: // "arguments"
      if (!record.startsWith('"arguments":[', at)) return -1;
      fields.argumentsAt = at + 12;
      return at + 12;
    case 0x6e: // "invocationId"
      if (fields.invocationId !== undefined || !record.startsWith('"invocationId":"', at)) return -1;
      return readStringValue(record, at + 16, fields, "invocationId");
    case 0x61: // "target"
      if (fields.target !== undefined || !record.startsWith('"target":"', at)) return -1;
      return readStringValue(record, at + 10, fields, "target");
    default:
      return -1;
  }
}

/** Reads the plain, non-empty string that starts at `from` into `fields[key]`; returns the index after its closing quote, or -1. */
function readStringValue(record: string, from: number, fields: PlainFields, key: "invocationId" | "target"): number {
  const close = plainStringEnd(record, from);
  if (close <= from) return -1; // not closed, or empty
  fields[key] = record.slice(from, close);
  return close + 1;
}

/** Reads `,"key":value` ending just before `end`; returns where it begins, or -1. */
function readPairBackwards(record: string, end: number, fields: PlainFields): number {
  let valueStart: number;
  let key: "type" | "invocationId" | "target";
  if (record.charCodeAt(end - 1) === QUOTE) {
    const open = record.lastIndexOf('"', end - 2);
    if (open < 0 || plainStringEnd(record, open + 1) !== end - 1) return -1;
    valueStart = open;
    if (record.startsWith(',"invocationId":', open - 16)) key = "invocationId";
    else if (record.startsWith(',"target":', open - 10)) key = "target";
    else return -1;
  } else if (record.startsWith(',"type":1', end - 9)) {
    valueStart = end - 1;
    key = "type";
  } else {
    return -1;
  }
  const pairStart = valueStart - key.length - 4;
  if (key === "type") {
    if (fields.type) return -1;
    fields.type = true;
  } else {
    if (fields[key] !== undefined) return -1;
    const value = record.slice(valueStart + 1, end - 1);
    if (value.length === 0) return -1;
    fields[key] = value;
  }
  return pairStart;
}

/** The index of the quote closing a string that begins at `from`, or -1 if it holds an escape or a control character. */
function plainStringEnd(record: string, from: number): number {
  for (let i = from; i < record.length; i++) {
    const code = record.charCodeAt(i);
    if (code === QUOTE) return i;
    if (code === BACKSLASH || code < 0x20) return -1;
  }
  return -1;
}
