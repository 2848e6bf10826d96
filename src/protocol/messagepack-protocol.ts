import { Decoder, Encoder } from "@msgpack/msgpack";
import { append } from "./append.js";
import { BinaryRecordCursor, frameBinaryRecord } from "./binary-framing.js";
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
import { ERROR_RESULT, NON_VOID_RESULT, VOID_RESULT, writePlainCompletion } from "./messagepack-plain-completion.js";
import { readPlainInvocation, writePlainInvocation } from "./messagepack-plain-invocation.js";
import { ProtocolError } from "./protocol-error.js";


// Ping never changes and is sent most often: the exact bytes .NET sends, framed.
const pingRecord = new Uint8Array([0x02, 0x91, 0x06]);
const emptyHeaders: MessageHeaders = {};
const noStreamIds: string[] = [];

/**
 * The SignalR MessagePack hub protocol: each message one MessagePack array, each array behind a
 * varint length. Dates travel as the timestamp extension and bytes as `bin`, both ways. A 64-bit
 * integer outside the safe range is decoded as a `bigint`, never silently rounded.
 */
export class MessagePackHubProtocol implements HubProtocol {
  readonly name = "messagepack";
  readonly version = 2;
  readonly transferFormat = "Binary" as const;
  private readonly encoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });
  private readonly decoder = new Decoder();
  private readonly bigIntDecoder = new Decoder({ useBigInt64: true });

  /** Every version up to its own, as .NET's protocols answer (0 and below included). */
  isVersionSupported(version: number): boolean {
    return version <= this.version;
  }

  parseMessages(input: string | Uint8Array, options?: ParseOptions): HubMessage[] {
    if (typeof input === "string") {
      throw new ProtocolError(
        "ERR_PROTOCOL_WRONG_INPUT_TYPE",
        "Invalid input for MessagePack hub protocol. Expected binary data.",
      );
    }
    let messages: HubMessage[] | undefined;
    const records = new BinaryRecordCursor(input, options?.maximumMessageSize ?? null);
    while (records.next()) {
      const message =
        readPlainInvocation(input, records.start, records.end) ??
        readMessage(this.decodeRecord(ownRecord(input, records.start, records.end)));
      if (message) messages = append(messages, message);
    }
    return messages ?? [];
  }

  writeMessage(message: HubMessage): Uint8Array {
    if (message.type === MessageType.Ping) return pingRecord;
    // Completions are most of what a server writes; then its calls of client functions.
    if (message.type === MessageType.Completion && message.headers === undefined) {
      const record = writePlainCompletion(message);
      if (record) return record;
    } else if (message.type === MessageType.Invocation && message.headers === undefined) {
      const record = writePlainInvocation(message);
      if (record) return record;
    }
    return frameBinaryRecord(this.encoder.encodeSharedRef(toWireArray(message)));
  }

  private decodeRecord(record: Uint8Array): unknown[] {
    if (record.length === 0) throw invalid("Invalid payload: an empty message.");
    let value: unknown;
    try {
      // 0xcf / 0xd3 start uint64 / int64 values. Without either byte there is none, and the fast
      // decoder serves; with one (maybe only inside a string), decode exactly and keep what
      // does not fit a double as a bigint.
      value =
        record.indexOf(0xcf) === -1 && record.indexOf(0xd3) === -1
          ? this.decoder.decode(record)
          : narrowBigInts(this.bigIntDecoder.decode(record));
    } catch (error) {
      throw invalid(`Invalid MessagePack: ${(error as Error).message}`);
    }
    if (!Array.isArray(value) || value.length === 0) throw invalid("Invalid payload: a message must be a non-empty array.");
    return value;
  }
}

/**
 * The record `[start, end)` of `input`, to decode. The decoder hands binary values out as views
 * of what it decodes: kept by a hub, a view of a large frame (a small message padded with pings,
 * or one hub's message in a multiplexed frame) would keep all of it alive. A record that is a
 * small part of a large buffer is copied first; one that is most of its buffer stays a view.
 */
function ownRecord(input: Uint8Array, start: number, end: number): Uint8Array {
  const record = input.subarray(start, end);
  const buffer = input.buffer.byteLength;
  return buffer > largeBuffer && record.length * 2 < buffer ? new Uint8Array(record) : record;
}

/** Bytes of a buffer past which the decoder's views of a small part of it are not kept. */
const largeBuffer = 64 * 1024;

/** The shared instance: the protocol keeps only reusable codec buffers. */
export const messagePackHubProtocol = new MessagePackHubProtocol();

function toWireArray(message: Exclude<HubMessage, { type: 6 }>): unknown[] {
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      // .NET always writes six elements, streamIds included.
      return [
        message.type,
        message.headers ?? emptyHeaders,
        message.invocationId ?? null,
        message.target,
        message.arguments,
        message.streamIds ?? noStreamIds,
      ];
    case MessageType.StreamItem:
      return [2, message.headers ?? emptyHeaders, message.invocationId, message.item];
    case MessageType.Completion:
      if (message.error !== undefined) return [3, message.headers ?? emptyHeaders, message.invocationId, ERROR_RESULT, message.error];
      if (!message.hasResult) return [3, message.headers ?? emptyHeaders, message.invocationId, VOID_RESULT];
      return [3, message.headers ?? emptyHeaders, message.invocationId, NON_VOID_RESULT, message.result ?? null];
    case MessageType.CancelInvocation:
      return [5, message.headers ?? emptyHeaders, message.invocationId];
    case MessageType.Close:
      return [7, message.error ?? null, message.allowReconnect === true];
    case MessageType.Ack:
    case MessageType.Sequence:
      return [message.type, message.sequenceId];
  }
}

function readMessage(wire: unknown[]): HubMessage | undefined {
  const type = wire[0];
  if (typeof type !== "number") throw invalid("Invalid payload: the message type must be a number.");
  if ((type | 0) !== type) throw invalid("Invalid payload: the message type must be a 32-bit integer.");
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      return readInvocation(wire, type);
    case MessageType.StreamItem: {
      need(wire, 4, "StreamItem");
      const item: StreamItemMessage = { type, invocationId: readId(wire[2], "StreamItem"), item: wire[3] };
      return withHeaders(item, wire[1], "StreamItem");
    }
    case MessageType.Completion:
      return readCompletion(wire);
    case MessageType.CancelInvocation:
      need(wire, 3, "CancelInvocation");
      const cancel: CancelInvocationMessage = { type, invocationId: readId(wire[2], "CancelInvocation") };
      return withHeaders(cancel, wire[1], "CancelInvocation");
    case MessageType.Ping:
      return { type };
    case MessageType.Close: {
      need(wire, 2, "Close");
      const [, error, allowReconnect] = wire;
      if (error !== null && error !== undefined && typeof error !== "string") {
        throw invalid("Invalid payload for Close message: the error must be a string or nil.");
      }
      if (allowReconnect !== undefined && typeof allowReconnect !== "boolean") {
        throw invalid("Invalid payload for Close message: allowReconnect must be a boolean.");
      }
      return {
        type,
        ...(typeof error === "string" ? { error } : {}),
        ...(allowReconnect === true ? { allowReconnect: true } : {}),
      };
    }
    case MessageType.Ack:
    case MessageType.Sequence: {
      need(wire, 2, type === MessageType.Ack ? "Ack" : "Sequence");
      const sequenceId = wire[1];
      if (typeof sequenceId !== "number" || !Number.isSafeInteger(sequenceId) || sequenceId < 0) {
        throw invalid("Invalid payload: the sequence id must be a non-negative integer.");
      }
      return { type, sequenceId };
    }
    default:
      return undefined; // newer message types are skipped, as the official clients do
  }
}

function readInvocation(
  wire: unknown[],
  type: typeof MessageType.Invocation | typeof MessageType.StreamInvocation,
): InvocationMessage | StreamInvocationMessage {
  const kind = type === MessageType.Invocation ? "Invocation" : "StreamInvocation";
  need(wire, 5, kind);
  const [, headers, id, target, args, streamIds] = wire;
  if (typeof target !== "string" || target.length === 0) {
    throw invalid(`Invalid payload for ${kind} message: the target must be a non-empty string.`);
  }
  if (!Array.isArray(args)) throw invalid(`Invalid payload for ${kind} message: the arguments must be an array.`);
  // A non-blocking invocation has no id (nil, or an empty string, as .NET reads it); made with or
  // without it, so that no field is added later.
  const blocking = type === MessageType.StreamInvocation || (id !== null && id !== undefined && id !== "");
  const message: InvocationMessage | StreamInvocationMessage = blocking
    ? { type, invocationId: readId(id, kind), target, arguments: args }
    : { type, target, arguments: args };
  if (streamIds !== undefined) {
    if (!Array.isArray(streamIds) || !streamIds.every((s) => typeof s === "string" && s.length > 0)) {
      throw invalid(`Invalid payload for ${kind} message: the stream ids must be an array of non-empty strings.`);
    }
    if (streamIds.length > 0) message.streamIds = streamIds as string[];
  }
  return withHeaders(message, headers, kind);
}

function readCompletion(wire: unknown[]): CompletionMessage {
  need(wire, 4, "Completion");
  const invocationId = readId(wire[2], "Completion");
  const kind = wire[3];
  let message: CompletionMessage;
  if (kind === VOID_RESULT) {
    message = { type: MessageType.Completion, invocationId, hasResult: false };
  } else if (kind === NON_VOID_RESULT) {
    need(wire, 5, "Completion");
    message = { type: MessageType.Completion, invocationId, hasResult: true, result: wire[4] };
  } else if (kind === ERROR_RESULT) {
    need(wire, 5, "Completion");
    const error = wire[4];
    if (typeof error !== "string") throw invalid("Invalid payload for Completion message: the error must be a string.");
    message = { type: MessageType.Completion, invocationId, hasResult: false, error };
  } else {
    throw invalid("Invalid payload for Completion message: unknown result kind.");
  }
  return withHeaders(message, wire[1], "Completion");
}

function need(wire: unknown[], length: number, kind: string): void {
  if (wire.length < length) throw invalid(`Invalid payload for ${kind} message: expected at least ${length} elements.`);
}

function readId(id: unknown, kind: string): string {
  if (typeof id !== "string" || id.length === 0) {
    throw invalid(`Invalid payload for ${kind} message: the invocation id must be a non-empty string.`);
  }
  return id;
}

function withHeaders<T extends { headers?: MessageHeaders }>(message: T, headers: unknown, kind: string): T {
  // Always there, a map (nil too is refused, as .NET reads it): `need` counted it.
  if (typeof headers !== "object" || headers === null || Array.isArray(headers) || headers instanceof Uint8Array) {
    throw invalid(`Invalid payload for ${kind} message: the headers must be a map.`);
  }
  let any = false;
  for (const key in headers) {
    const value = (headers as Record<string, unknown>)[key];
    if (typeof value !== "string") throw invalid(`Invalid payload for ${kind} message: header values must be strings.`);
    // As .NET reads them: a header without a name or a value is malformed.
    if (key.length === 0 || value.length === 0) throw invalid(`Invalid payload for ${kind} message: a header's name and value must not be empty.`);
    any = true;
  }
  if (any) message.headers = headers as MessageHeaders;
  return message;
}

/** Turns every bigint that a double holds exactly back into a number; larger ones stay bigints. */
function narrowBigInts(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = narrowBigInts(value[i]);
  } else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    const record = value as Record<string, unknown>;
    for (const key in record) record[key] = narrowBigInts(record[key]);
  }
  return value;
}

function invalid(message: string): ProtocolError {
  return new ProtocolError("ERR_PROTOCOL_INVALID_PAYLOAD", message);
}
