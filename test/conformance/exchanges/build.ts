import { msgpackFrame, type Protocol } from "../framing.js";
import type { Payload, Step } from "../script.js";
import type { TransportName } from "../transports.js";

// Building blocks for exchanges: hub messages in either protocol, and the usual step sequences.

/** A transport and a hub protocol: SSE carries text only, so it has no MessagePack mode. */
export interface Mode {
  transport: TransportName;
  protocol: Protocol;
}

export const modes: Mode[] = [
  { transport: "ws", protocol: "json" },
  { transport: "ws", protocol: "msgpack" },
  { transport: "sse", protocol: "json" },
  { transport: "lp", protocol: "json" },
  { transport: "lp", protocol: "msgpack" },
];

export const modeName = (m: Mode) => `${m.transport}-${m.protocol}`;

/** The handshake request of a protocol, always JSON text. */
export const handshake = (protocol: string, version: unknown = 1) => `${JSON.stringify({ protocol, version })}\x1e`;

const json = (message: Record<string, unknown>) => `${JSON.stringify(message)}\x1e`;

export function invocation(p: Protocol, id: string | undefined, target: string, args: unknown[], streamIds?: string[]): Payload {
  if (p === "json") {
    return json({ type: 1, ...(id === undefined ? {} : { invocationId: id }), target, arguments: args, ...(streamIds ? { streamIds } : {}) });
  }
  return { msgpack: [1, {}, id ?? null, target, args, ...(streamIds ? [streamIds] : [])] };
}

export function streamInvocation(p: Protocol, id: string, target: string, args: unknown[], streamIds?: string[]): Payload {
  if (p === "json") return json({ type: 4, invocationId: id, target, arguments: args, ...(streamIds ? { streamIds } : {}) });
  return { msgpack: [4, {}, id, target, args, ...(streamIds ? [streamIds] : [])] };
}

export function streamItem(p: Protocol, id: string, item: unknown): Payload {
  return p === "json" ? json({ type: 2, invocationId: id, item }) : { msgpack: [2, {}, id, item] };
}

/** A completion: with `result`, with `error`, or (neither) void. */
export function completion(p: Protocol, id: string, outcome: { result?: unknown; error?: string } = {}): Payload {
  if (p === "json") return json({ type: 3, invocationId: id, ...outcome });
  if (outcome.error !== undefined) return { msgpack: [3, {}, id, 1, outcome.error] };
  if ("result" in outcome) return { msgpack: [3, {}, id, 3, outcome.result] };
  return { msgpack: [3, {}, id, 2] };
}

export const cancelInvocation = (p: Protocol, id: string): Payload => (p === "json" ? json({ type: 5, invocationId: id }) : { msgpack: [5, {}, id] });

export const ping = (p: Protocol): Payload => (p === "json" ? json({ type: 6 }) : { msgpack: [6] });

export function closeMessage(p: Protocol, error?: string, allowReconnect?: boolean): Payload {
  if (p === "json") return json({ type: 7, ...(error === undefined ? {} : { error }), ...(allowReconnect === undefined ? {} : { allowReconnect }) });
  return { msgpack: [7, error ?? null, ...(allowReconnect === undefined ? [] : [allowReconnect])] };
}

export const ack = (p: Protocol, sequenceId: number): Payload => (p === "json" ? json({ type: 8, sequenceId }) : { msgpack: [8, sequenceId] });

export const sequence = (p: Protocol, sequenceId: number): Payload => (p === "json" ? json({ type: 9, sequenceId }) : { msgpack: [9, sequenceId] });

export interface ConnectOptions {
  /** Negotiate first (default), or connect a WebSocket straight away. */
  negotiate?: boolean;
  query?: string;
  headers?: Record<string, string>;
  channel?: string;
  /** The handshake to send; the protocol's own by default. */
  handshake?: Payload;
}

/** Negotiate (version 1), open the transport, send the handshake and read its reply. */
export function connect(mode: Mode, hub: string, options: ConnectOptions = {}): Step[] {
  const negotiate = options.negotiate ?? true;
  const query = options.query ? `&${options.query}` : "";
  const steps: Step[] = [];
  if (negotiate) {
    steps.push({ http: { method: "POST", path: `${hub}/negotiate?negotiateVersion=1${query}`, headers: options.headers } });
  }
  const path = negotiate ? `${hub}?id={token}${query}` : `${hub}${query ? `?${query.slice(1)}` : ""}`;
  steps.push(
    { open: { transport: mode.transport, path, protocol: mode.protocol, headers: options.headers, channel: options.channel } },
    { send: options.handshake ?? handshake(mode.protocol === "json" ? "json" : "messagepack"), channel: options.channel },
    { read: { messages: 1 }, channel: options.channel },
  );
  return steps;
}

/** The method every hub of the fixture answers at once, without side effects worth noting. */
function marker(hub: string): { target: string; args: unknown[] } {
  return hub.startsWith("/interophub") ? { target: "CallCount", args: [] } : { target: "Echo", args: ["sync"] };
}

/**
 * Calls the hub's marker method and reads everything up to its completion: what the server sent
 * before it, and proof that nothing else was sent, without waiting for time to pass.
 */
export function sync(mode: Mode, hub: string, channel?: string): Step[] {
  const { target, args } = marker(hub);
  return [
    { send: invocation(mode.protocol, "sync", target, args), channel },
    { read: { completion: "sync" }, channel },
  ];
}

/**
 * Sends `bad` and the hub's marker call in one send, then reads up to the marker's completion or
 * the connection's end: the server either survives the bad input (and answers the marker) or
 * ends the connection before reading the marker, whichever way the send was framed.
 */
export function probe(mode: Mode, hub: string, bad: string | Uint8Array): Step[] {
  const { target, args } = marker(hub);
  const call = invocation(mode.protocol, "sync", target, args);
  const marked = typeof call === "string" ? call : msgpackFrame(call instanceof Uint8Array ? call : call.msgpack);
  const send = typeof bad === "string" && typeof marked === "string" ? bad + marked : Buffer.concat([Buffer.from(bad), Buffer.from(marked)]);
  return [{ send }, { read: { completion: "sync" } }];
}

/** Invokes and reads up to the completion of that invocation. */
export function call(mode: Mode, id: string, target: string, args: unknown[], channel?: string): Step[] {
  return [
    { send: invocation(mode.protocol, id, target, args), channel },
    { read: { completion: id }, channel },
  ];
}
