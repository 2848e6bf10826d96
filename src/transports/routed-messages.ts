import { Buffer } from "node:buffer";
import { decode, encode } from "@msgpack/msgpack";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** The HTTP methods a forwarded request may have; `UPGRADE` is a WebSocket upgrade (it only ever moves a connection). */
export type RoutedMethod = "GET" | "POST" | "DELETE" | "UPGRADE";

/**
 * A request of a connection that reached a server which does not hold it, sent on the
 * connection's route channel to the server that does. A POST carries its body, already read
 * (and bounded) by the server that received it; one larger than a whole read carries its first
 * part and `more` (the rest comes in RoutedParts). `tooLarge`: the body is over the limit, so a
 * server that does not read parts refuses it (413); set with `more` for that reason.
 */
export interface RoutedRequest {
  kind: "request";
  /** The asking server: answers go to its own channel. */
  from: string;
  id: number;
  method: RoutedMethod;
  url: string;
  headers: IncomingHttpHeaders;
  remoteAddress?: string | undefined;
  body?: Uint8Array | undefined;
  /** The body goes on in parts (see RoutedPart): this is the first. */
  more?: true | undefined;
  tooLarge?: true | undefined;
  /**
   * The asking server can take a suspended stateful connection with its state (a `moving`
   * answer). One that does not say so (an older hubwire, mid-deploy) is answered 409 as before.
   */
  movesState?: true | undefined;
}

/**
 * The next part of a POST's body (see RoutedRequest.more), sent once the holder has taken the
 * one before (`taken`). The holder answers it as it answers a request: `taken`, or the POST's
 * own answer, which may come before the last part (the body was refused, or its connection ended).
 */
export interface RoutedPart {
  kind: "part";
  from: string;
  id: number;
  /** The id of the request whose body this continues. */
  of: number;
  body: Uint8Array;
  /** The body ends with this part. */
  last?: true | undefined;
}

/**
 * The client of a forwarded request went away before its answer: the holder lets go of it (a
 * pending poll). On the holder's own channel, for a `ready`: the new server stopped waiting for
 * the connection (see MovingConnections.givenUp).
 */
export interface RoutedAbandon {
  kind: "abandon";
  from: string;
  id: number;
}

/**
 * The server a suspended connection moves to has prepared for it: the holder may let go of it
 * now, and answers `moved` (to `id`). Sent to the holder's own channel; `moving` is the id of the
 * request the holder answered `moving`.
 */
export interface RoutedReady {
  kind: "ready";
  from: string;
  id: number;
  moving: number;
}

/** What the server holding a connection answers, on the asking server's channel. */
export type RoutedAnswer =
  /** The request was served: this is its HTTP response. */
  | { kind: "reply"; id: number; status: number; headers: OutgoingHttpHeaders; body: Uint8Array }
  /**
   * The request starts the connection's transport (the first poll, the SSE stream, the WebSocket):
   * the connection moves to the asking server, which serves it from now on.
   */
  | { kind: "moved"; id: number; connectionId: string; identity?: string | undefined; statefulReconnect: boolean; state?: unknown }
  /**
   * A suspended stateful connection's client reconnected through the asking server: the
   * connection will move there. The asker prepares (`plan`) and says `ready`; the holder then
   * answers `moved` with the connection's state.
   */
  | {
      kind: "moving";
      id: number;
      /** The holder's id: `ready` goes to its own channel. */
      holder: string;
      connectionId: string;
      identity?: string | undefined;
      plan: unknown;
    }
  /** The connection ended on the way: as if no server held it. */
  | { kind: "unknown"; id: number }
  /** A part of a POST's body (its request or a RoutedPart) was read: send the next. */
  | { kind: "taken"; id: number };

export type RoutedMessage = RoutedRequest | RoutedPart | RoutedAbandon | RoutedReady | RoutedAnswer;

/** A plain-text HTTP answer to forwarded request `id`. */
export function textReply(id: number, status: number, text: string): RoutedAnswer {
  const headers: OutgoingHttpHeaders = { "Content-Type": "text/plain; charset=utf-8" };
  return { kind: "reply", id, status, headers, body: Buffer.from(text) };
}

export function encodeRoutedMessage(message: RoutedMessage): Uint8Array {
  return encode(message, { ignoreUndefined: true });
}

/** Throws on bytes that are not a routed message; the caller logs and drops them. */
export function decodeRoutedMessage(payload: Uint8Array): RoutedMessage {
  const message = decode(payload) as RoutedMessage | null;
  if (typeof message !== "object" || message === null || typeof message.kind !== "string" || typeof message.id !== "number") {
    throw new Error("not a hubwire routed request");
  }
  return message;
}
