import { append } from "./append.js";
import { bytesToBase64 } from "./base64.js";
import type { HubProtocol, ParseOptions } from "./hub-protocol.js";
import {
  MessageType,
  type CancelInvocationMessage,
  type CompletionMessage,
  type HubMessage,
  type InvocationMessage,
  type MessageHeaders,
  type StreamInvocationMessage,
  type StreamItemMessage,
} from "./messages.js";
import { parsePlainInvocation } from "./json-plain-invocation.js";
import { messageTooLarge, ProtocolError } from "./protocol-error.js";
import { firstRecordEnd, RECORD_SEPARATOR, splitTextRecords } from "./text-framing.js";
import { exceedsUtf8Bytes } from "./utf8.js";

type JsonObject = Record<string, unknown>;

/**
 * The SignalR JSON hub protocol: one JSON object per message, each ended by RS (0x1E).
 * Parsing checks every property the protocol knows, whatever the message's type, and every
 * field the type needs; writing follows .NET's conventions (`type` first, bytes as base64, dates
 * without empty fractions).
 */
export class JsonHubProtocol implements HubProtocol {
  readonly name = "json";
  readonly version = 2;
  readonly transferFormat = "Text" as const;
  readonly readsParts = true;

  /** Every version up to its own, as .NET's protocols answer (0 and below included). */
  isVersionSupported(version: number): boolean {
    return version <= this.version;
  }

  parseMessages(input: string | Uint8Array, options?: ParseOptions): HubMessage[] {
    // Bytes: a binary WebSocket message, or a POST whose body is not UTF-8 (see connection-sends.ts).
    if (typeof input !== "string") {
      throw new ProtocolError("ERR_PROTOCOL_WRONG_INPUT_TYPE", "Invalid input for JSON hub protocol. Expected UTF-8 text.");
    }
    const max = options?.maximumMessageSize ?? null;
    // The part of the input that is the message: all of it, but for a multiplexed hub's envelope.
    const first = options?.start ?? 0;
    const last = options?.end ?? input.length;
    // With one character per byte, text and bytes hold each record at the same positions.
    const bytes = options?.utf8?.length === input.length ? options.utf8 : undefined;
    if (!bytes) return parseRecords(first === 0 && last === input.length ? input : input.slice(first, last), max);
    let messages: HubMessage[] | undefined;
    for (let start = first, end = firstRecordEnd(input, first, last); end !== -1 && end < last; start = end + 1, end = input.indexOf(RECORD_SEPARATOR, start)) {
      if (max !== null && end - start > max) throw messageTooLarge(max);
      const message = parsePlainInvocation(input, bytes, start, end) ?? parseRecord(input.slice(start, end));
      if (message) messages = append(messages, message);
    }
    return messages ?? [];
  }

  writeMessage(message: HubMessage): string {
    // Completions are most of what a server writes, then its calls of client functions: build
    // them without an intermediate object.
    if (message.type === MessageType.Completion && message.headers === undefined) return completionRecord(message);
    if (message.type === MessageType.Invocation && message.headers === undefined) {
      const record = plainInvocationRecord(message);
      if (record !== undefined) return record;
    }
    return stringify(toWireObject(message)) + RECORD_SEPARATOR;
  }
}

/** Records read from the text alone (text with multi-byte characters, or without its bytes). */
function parseRecords(input: string, max: number | null): HubMessage[] {
  let messages: HubMessage[] | undefined;
  for (const record of splitTextRecords(input)) {
    if (max !== null && exceedsUtf8Bytes(record, max)) throw messageTooLarge(max);
    const message = parseRecord(record);
    if (message) messages = append(messages, message);
  }
  return messages ?? [];
}

/** The shared instance: the protocol holds no state. */
export const jsonHubProtocol = new JsonHubProtocol();

const pingRecord = `{"type":6}`;

function toWireObject(message: HubMessage): JsonObject | string {
  // Objects are built with `type` first so output reads like .NET's; JSON.stringify keeps key order.
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      const wire: JsonObject = { type: message.type };
      if (message.headers) wire.headers = message.headers;
      if (message.invocationId !== undefined) wire.invocationId = message.invocationId;
      wire.target = message.target;
      wire.arguments = message.arguments;
      if (message.streamIds && message.streamIds.length > 0) wire.streamIds = message.streamIds;
      return wire;
    }
    case MessageType.StreamItem:
      return message.headers
        ? { type: 2, headers: message.headers, invocationId: message.invocationId, item: message.item }
        : { type: 2, invocationId: message.invocationId, item: message.item };
    case MessageType.Completion: {
      const wire: JsonObject = { type: 3 };
      if (message.headers) wire.headers = message.headers;
      wire.invocationId = message.invocationId;
      if (message.error !== undefined) wire.error = message.error;
      // `"result":null` means "returned null"; no key at all means "returned nothing".
      else if (message.hasResult) wire.result = message.result === undefined ? null : message.result;
      return wire;
    }
    case MessageType.CancelInvocation:
      return message.headers
        ? { type: 5, headers: message.headers, invocationId: message.invocationId }
        : { type: 5, invocationId: message.invocationId };
    case MessageType.Ping:
      return pingRecord;
    case MessageType.Close: {
      const wire: JsonObject = { type: 7 };
      if (message.error !== undefined) wire.error = message.error;
      if (message.allowReconnect === true) wire.allowReconnect = true;
      return wire;
    }
    case MessageType.Ack:
    case MessageType.Sequence:
      return { type: message.type, sequenceId: message.sequenceId };
  }
}

function completionRecord(message: CompletionMessage): string {
  const head = `{"type":3,"invocationId":${quote(message.invocationId)}`;
  if (message.error !== undefined) return `${head},"error":${quote(message.error)}}${RECORD_SEPARATOR}`;
  // `"result":null` means "returned null"; no key at all means "returned nothing".
  if (!message.hasResult) return `${head}}${RECORD_SEPARATOR}`;
  const result = stringifyValue(message.result === undefined ? null : message.result);
  // A value JSON cannot hold (a function) is left out, as it would be as an object's property.
  return result === undefined ? `${head}}${RECORD_SEPARATOR}` : `${head},"result":${result}}${RECORD_SEPARATOR}`;
}

/**
 * An Invocation without stream ids whose arguments are strings, numbers, booleans or null, as
 * `toWireObject` and JSON.stringify would write it (the same keys in the same order), built
 * directly: a send to one connection is encoded for it alone. Undefined for other arguments,
 * which the general path writes (objects, dates and binary data by .NET's conventions).
 */
function plainInvocationRecord(message: InvocationMessage): string | undefined {
  if (message.streamIds !== undefined && message.streamIds.length > 0) return undefined;
  const args = message.arguments;
  let list = "";
  for (let i = 0; i < args.length; i++) {
    const value = plainValue(args[i]);
    if (value === undefined) return undefined;
    list = i === 0 ? value : `${list},${value}`;
  }
  const id = message.invocationId === undefined ? "" : `,"invocationId":${quote(message.invocationId)}`;
  return `{"type":1${id},"target":${quote(message.target)},"arguments":[${list}]}${RECORD_SEPARATOR}`;
}

/** A string, number, boolean or null as JSON.stringify writes it; undefined for anything else. */
function plainValue(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    default:
      return value === null ? "null" : undefined;
  }
}

function stringify(wire: JsonObject | string): string {
  return typeof wire === "string" ? wire : stringifyValue(wire)!;
}

function stringifyValue(value: unknown): string | undefined {
  if (typeof value === "string") return quote(value);
  // Most payloads are plain JSON data; a replacer costs a call per value, so use it only when needed.
  return needsDotNetConventions(value) ? JSON.stringify(value, dotNetReplacer) : JSON.stringify(value);
}

/**
 * A string as JSON. Ids and short strings of printable ASCII need no escapes: quoting them here
 * skips a call into the engine's serializer, which costs more than the check for short text. The
 * check is a regular expression because the engine compiles it to machine code; a loop over
 * `charCodeAt` cost about twice as much for a 32-character string, but less than starting the
 * expression for the few characters of an invocation id.
 */
function quote(text: string): string {
  if (text.length <= 8) return isPrintableAscii(text) ? `"${text}"` : JSON.stringify(text);
  return text.length <= 64 && printableAscii.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** The loop form of {@link printableAscii}, for a few characters. */
function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

/** Printable ASCII but `"` and `\`: the characters JSON writes as they are. */
export const printableAscii = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Whether `value` holds a Date or binary data anywhere (objects are walked, at most a few levels deep). */
function needsDotNetConventions(value: unknown, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return true;
  // Past this depth, assume the worst rather than walk a huge graph twice.
  if (depth > 8) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (needsDotNetConventions(item, depth + 1)) return true;
    return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  for (const key in value) {
    if (needsDotNetConventions((value as JsonObject)[key], depth + 1)) return true;
  }
  return false;
}

function dotNetReplacer(this: unknown, key: string, value: unknown): unknown {
  // Read the raw value: Date and Buffer have already been through their toJSON in `value`.
  const raw = (this as JsonObject)[key];
  if (raw instanceof Date) return dateToDotNetIso(raw);
  if (ArrayBuffer.isView(raw)) return bytesToBase64(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  if (raw instanceof ArrayBuffer) return bytesToBase64(new Uint8Array(raw));
  return value;
}

/** ISO-8601 in UTC as .NET writes a DateTime: no fraction when it is zero, no trailing zeros. */
export function dateToDotNetIso(date: Date): string | null {
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString(); // 2000-01-01T00:00:00.120Z
  const dot = iso.lastIndexOf(".");
  let fraction = iso.slice(dot + 1, -1);
  while (fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  return fraction ? `${iso.slice(0, dot)}.${fraction}Z` : `${iso.slice(0, dot)}Z`;
}

function parseRecord(record: string): HubMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch (error) {
    throw invalid(`Error reading JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("Expected a JSON object for a hub message.");
  }
  const wire = value as JsonObject;
  const type = wire.type;
  if (type === undefined) throw invalid("Missing required property 'type'.");
  if (typeof type !== "number") throw invalid("Expected 'type' to be of type Number.");
  if (!isInt32(type)) throw invalid("Expected 'type' to be a 32-bit integer.");
  checkKnownProperties(wire);
  switch (type) {
    case MessageType.Invocation:
      return parseInvocation(wire, MessageType.Invocation);
    case MessageType.StreamInvocation:
      return parseInvocation(wire, MessageType.StreamInvocation);
    case MessageType.StreamItem: {
      if (!("item" in wire)) throw invalid("Missing required property 'item'.");
      const item: StreamItemMessage = { type, invocationId: requiredId(wire), item: wire.item };
      return withHeaders(item, wire);
    }
    case MessageType.Completion:
      return parseCompletion(wire);
    case MessageType.CancelInvocation:
      const cancel: CancelInvocationMessage = { type, invocationId: requiredId(wire) };
      return withHeaders(cancel, wire);
    case MessageType.Ping:
      return { type };
    case MessageType.Close: {
      const { error, allowReconnect } = wire;
      return {
        type,
        ...(typeof error === "string" ? { error } : {}),
        ...(allowReconnect === true ? { allowReconnect } : {}),
      };
    }
    case MessageType.Ack:
    case MessageType.Sequence: {
      const { sequenceId } = wire;
      if (sequenceId === undefined || sequenceId === null) throw invalid("Missing required property 'sequenceId'.");
      return { type, sequenceId: sequenceId as number };
    }
    default:
      // Newer message types are skipped, as the official clients do.
      return undefined;
  }
}

/**
 * Checks the type of every property the protocol knows, whatever the message's type uses: a
 * message with one of the wrong type is malformed (ASP.NET Core refuses it so, reading each
 * property as it comes), even where its type would not have read it.
 */
function checkKnownProperties(wire: JsonObject): void {
  const { invocationId, target, error, arguments: args, streamIds, headers, allowReconnect, sequenceId } = wire;
  // A string where present: null too is refused, as .NET reads them.
  if (!isStringIfPresent(invocationId)) throw invalid("Expected 'invocationId' to be a non-empty string.");
  if (!isStringIfPresent(target)) throw invalid("Expected 'target' to be a non-empty string.");
  if (!isStringIfPresent(error)) throw invalid("Expected 'error' to be of type String.");
  if (args !== undefined && !Array.isArray(args)) throw invalid("Expected 'arguments' to be of type Array.");
  if (streamIds !== undefined && (!Array.isArray(streamIds) || !streamIds.every((id) => typeof id === "string"))) {
    throw invalid("Expected 'streamIds' to be an array of strings.");
  }
  if (headers !== undefined) {
    if (typeof headers !== "object" || headers === null || Array.isArray(headers)) throw invalid("Expected 'headers' to be an object.");
    for (const key in headers) {
      if (typeof (headers as JsonObject)[key] !== "string") throw invalid("Expected every header value to be a string.");
    }
  }
  if (allowReconnect !== undefined && typeof allowReconnect !== "boolean") throw invalid("Expected 'allowReconnect' to be of type Boolean.");
  // Null is no sequence id (.NET reads it as a nullable 64-bit integer), which only Ack and Sequence need.
  if (sequenceId !== undefined && sequenceId !== null && !isSequenceId(sequenceId)) {
    throw invalid("Expected 'sequenceId' to be a non-negative integer.");
  }
}

/** A non-negative integer below 2^63 (.NET's Int64); beyond 2^53 the number is rounded, which an id to acknowledge up to tolerates. */
function isSequenceId(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 2 ** 63;
}

function isStringIfPresent(value: unknown): boolean {
  return value === undefined || typeof value === "string";
}

function isInt32(value: number): boolean {
  return (value | 0) === value;
}

function parseInvocation(
  wire: JsonObject,
  type: typeof MessageType.Invocation | typeof MessageType.StreamInvocation,
): InvocationMessage | StreamInvocationMessage {
  const { target, arguments: args, streamIds } = wire;
  // An empty target is read as .NET reads it: a method that does not exist, so the call fails
  // alone (when it has arguments: without, the message is malformed).
  if (typeof target !== "string" || (target.length === 0 && !Array.isArray(args))) {
    throw invalid(target === undefined ? "Missing required property 'target'." : "Expected 'target' to be a non-empty string.");
  }
  if (!Array.isArray(args)) {
    throw invalid(args === undefined ? "Missing required property 'arguments'." : "Expected 'arguments' to be of type Array.");
  }
  // A non-blocking invocation has no id (or an empty one, as .NET reads it); made with or
  // without it, so that no field is added later.
  const id = wire.invocationId;
  const blocking = type === MessageType.StreamInvocation || (id !== undefined && id !== "");
  const message: InvocationMessage | StreamInvocationMessage = blocking
    ? { type, invocationId: requiredId(wire), target, arguments: args }
    : { type, target, arguments: args };
  // Checked by checkKnownProperties.
  if (streamIds !== undefined && (streamIds as string[]).length > 0) message.streamIds = streamIds as string[];
  return withHeaders(message, wire);
}

function parseCompletion(wire: JsonObject): CompletionMessage {
  const invocationId = requiredId(wire);
  const { error } = wire;
  const hasResult = "result" in wire;
  let message: CompletionMessage;
  if (error !== undefined) {
    if (typeof error !== "string" || error.length === 0) throw invalid("Expected 'error' to be a non-empty string.");
    if (hasResult) throw invalid("The 'error' and 'result' properties are mutually exclusive.");
    message = { type: MessageType.Completion, invocationId, hasResult: false, error };
  } else if (hasResult) {
    message = { type: MessageType.Completion, invocationId, hasResult: true, result: wire.result };
  } else {
    message = { type: MessageType.Completion, invocationId, hasResult: false };
  }
  return withHeaders(message, wire);
}

function requiredId(wire: JsonObject): string {
  const id = wire.invocationId;
  if (id === undefined) throw invalid("Missing required property 'invocationId'.");
  if (typeof id !== "string" || id.length === 0) throw invalid("Expected 'invocationId' to be a non-empty string.");
  return id;
}

/** The message with the record's headers, checked by checkKnownProperties. */
function withHeaders<T extends { headers?: MessageHeaders }>(message: T, wire: JsonObject): T {
  if (wire.headers !== undefined) message.headers = wire.headers as MessageHeaders;
  return message;
}

function invalid(message: string): ProtocolError {
  return new ProtocolError("ERR_PROTOCOL_INVALID_PAYLOAD", message);
}
