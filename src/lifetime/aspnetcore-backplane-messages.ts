import { decode, encode } from "@msgpack/msgpack";

/**
 * The messages of ASP.NET Core SignalR's Redis backplane (`Microsoft.AspNetCore.SignalR.StackExchangeRedis`),
 * byte for byte: each is a MessagePack array whose meaning the channel gives; readers ignore items
 * past the ones they know. A hub message inside travels already framed in every hub protocol
 * (`json`: UTF-8 text ending in 0x1E; `messagepack`: a varint length, then the message), in a map
 * from protocol name to `bin`, and is written to clients as it is.
 */

/** A hub message framed in each protocol, by protocol name. */
export type FramedPayloads = Record<string, Uint8Array>;

/** On `:all`, `:group:`, `:user:` and `:connection:` channels. */
export interface AspNetCoreInvocation {
  /** Connections that must not receive it (`AllExcept`, `GroupExcept`). */
  excluded: string[];
  payloads: FramedPayloads;
  /** Set when a client result is asked of the connection; the answer goes to `returnChannel`. */
  invocationId?: string;
  /** Without the engine's channel prefix, which the answering server's client adds. */
  returnChannel?: string;
}

/** On `:internal:groups`: the server that holds the connection applies it and acks. */
export interface AspNetCoreGroupCommand {
  id: number;
  /** The asking server; its acks go to `:internal:ack:{serverName}`. */
  serverName: string;
  action: "add" | "remove";
  group: string;
  connectionId: string;
}

/** On `:internal:return:{server}`: a client's Completion, framed in that client's protocol. */
export interface AspNetCoreCompletion {
  protocol: string;
  completion: Uint8Array;
}

/** The numbers of ASP.NET Core's `GroupAction` byte. */
const groupActions = { add: 1, remove: 2 } as const;

export function writeInvocation(invocation: AspNetCoreInvocation): Uint8Array {
  const { excluded, payloads, invocationId, returnChannel } = invocation;
  const items: unknown[] = [excluded, payloads];
  if (invocationId !== undefined && returnChannel !== undefined) items.push(invocationId, returnChannel);
  return encode(items);
}

export function readInvocation(bytes: Uint8Array): AspNetCoreInvocation {
  const items = readArray(bytes, 2, "invocation");
  const [excluded, payloads, invocationId, returnChannel] = items;
  if (!Array.isArray(excluded) || !excluded.every((id) => typeof id === "string")) throw new Error("invocation: excluded ids are not strings");
  if (typeof payloads !== "object" || payloads === null || Array.isArray(payloads)) throw new Error("invocation: no payload map");
  for (const value of Object.values(payloads)) if (!(value instanceof Uint8Array)) throw new Error("invocation: a payload is not bin");
  const invocation: AspNetCoreInvocation = { excluded, payloads: payloads as FramedPayloads };
  if (items.length >= 4 && typeof invocationId === "string" && typeof returnChannel === "string") {
    invocation.invocationId = invocationId;
    invocation.returnChannel = returnChannel;
  }
  return invocation;
}

export function writeGroupCommand(command: AspNetCoreGroupCommand): Uint8Array {
  return encode([command.id, command.serverName, groupActions[command.action], command.group, command.connectionId]);
}

export function readGroupCommand(bytes: Uint8Array): AspNetCoreGroupCommand {
  const [id, serverName, action, group, connectionId] = readArray(bytes, 5, "group command");
  if (typeof id !== "number" || typeof serverName !== "string" || typeof group !== "string" || typeof connectionId !== "string") {
    throw new Error("group command: wrong item types");
  }
  if (action !== groupActions.add && action !== groupActions.remove) throw new Error(`group command: unknown action ${String(action)}`);
  return { id, serverName, action: action === groupActions.add ? "add" : "remove", group, connectionId };
}

export function writeAck(id: number): Uint8Array {
  return encode([id]);
}

export function readAck(bytes: Uint8Array): number {
  const [id] = readArray(bytes, 1, "ack");
  if (typeof id !== "number") throw new Error("ack: the id is not an integer");
  return id;
}

export function writeCompletion(completion: AspNetCoreCompletion): Uint8Array {
  return encode([completion.protocol, completion.completion]);
}

export function readCompletion(bytes: Uint8Array): AspNetCoreCompletion {
  const [protocol, completion] = readArray(bytes, 2, "completion");
  if (typeof protocol !== "string" || !(completion instanceof Uint8Array)) throw new Error("completion: wrong item types");
  return { protocol, completion };
}

/** Throws, as ASP.NET Core does, for an array shorter than its message needs. */
function readArray(bytes: Uint8Array, length: number, kind: string): unknown[] {
  const items = decode(bytes);
  if (!Array.isArray(items) || items.length < length) throw new Error(`${kind}: insufficient items`);
  return items;
}
