import type { ErrorCode } from "../errors.js";
import type { LogWriter } from "../logger.js";
import type { ConnectionMoves } from "./connection-moves.js";
import type { ConnectionRegistry } from "./connection-registry.js";
import type { ForwardedBody } from "./forwarded-body.js";
import type { ForwardedReply, ForwardedResponse } from "./forwarded-reply.js";
import type { RoutedRequest } from "./routed-messages.js";
import type { TransportConnection } from "./transport-connection.js";

// What the connection router needs and gives (see ConnectionRouter).

/**
 * Pub/sub between the servers of a cluster: what the router needs of a backplane (every
 * `Backplane` of `hubwire/redis` is one).
 */
export interface RouteChannels {
  /** Resolves with how many subscribers received the payload; rejects when the engine is unreachable. */
  publish(channel: string, payload: Uint8Array): Promise<number>;
  subscribe(channel: string, onMessage: (payload: Uint8Array) => void): Promise<void>;
  /**
   * Stops the messages of `channel`. What was published before (and counted as received by this
   * server) still reaches its handler: the asker of a forwarded request counts on an answer from
   * every receiver.
   */
  unsubscribe(channel: string): Promise<void>;
}

/** A request of a connection this server does not hold, as it goes to the server that does. */
export type ForwardedRequest = Omit<RoutedRequest, "kind" | "from" | "id">;

/** How a forward's end reaches the client: the holder's response, or a refusal of this server's own. */
export interface ForwardAnswer {
  reply(response: ForwardedResponse): void;
  refuse(status: number, reason: string): void;
}

/**
 * How a forwarded request ended, for the metrics (`hubwire.forward.outcome`): its connection's
 * server answered it (`served`), the connection moved here (`moved`), no server held it
 * (`not_found`), it could not be forwarded or answered in time (`failed`), or its client left
 * first (`abandoned`).
 */
export type ForwardEnd = "served" | "moved" | "not_found" | "failed" | "abandoned";

/** How a forwarded request ended. */
export type ForwardOutcome =
  /** The holder served it: write this response. */
  | { kind: "reply"; response: ForwardedResponse }
  /** The request starts the connection's transport: the connection is now this server's (with its state, for one that ran elsewhere). */
  | { kind: "moved"; connectionId: string; identity: string | undefined; statefulReconnect: boolean; state?: unknown }
  /** A suspended stateful connection will move here once this server has prepared for it. */
  | { kind: "moving"; id: number; holder: string; connectionId: string; identity: string | undefined; plan: unknown }
  /** No server holds the connection. */
  | { kind: "unknown" }
  /** The backplane could not carry it (503), the holder did not answer in time (504), or this server has too many in flight (503). */
  | { kind: "failed"; status: 503 | 504; reason: string; code: ErrorCode }
  /** The client went away before the answer came. */
  | { kind: "gone" }
  /** A part of a POST's body was read by the holder: the next may go. */
  | { kind: "taken" };

export interface RouterOptions {
  channels: RouteChannels;
  /** This server's id (see ScaleOutOptions.serverId); random when absent. */
  serverId?: string | undefined;
  /** The endpoint's path: each endpoint routes on channels of its own. */
  path: string;
  registry: ConnectionRegistry;
  /** Moves suspended stateful connections between servers; without it they stay where they are (409). */
  moves?: ConnectionMoves | undefined;
  /**
   * Serves a request another server forwarded, for a connection this server holds; a POST whose
   * body comes in parts with the body to read them from.
   */
  serve(connection: TransportConnection, request: RoutedRequest, reply: ForwardedReply, body?: ForwardedBody): Promise<void>;
  /** How long a forwarded request may wait for its answer (a long poll is held up to the poll timeout). */
  timeoutMs: number;
  /**
   * With crash recovery on: how long a WebSocket reconnect for a connection no server holds is
   * tried again, while a dead server's standby may not have taken the connection over yet.
   */
  recoveryWaitMs?: number | undefined;
  /**
   * With crash recovery on: how long at most such a reconnect waits while this server is the
   * connection's standby and has not judged its holder yet (ConnectionMoves.awaitsHolder): as
   * long as a server keeps a stateful connection whose client is away (its disconnect timeout).
   */
  standbyWaitMs?: number | undefined;
  /** Requests this server may have forwarded and waiting at once. */
  maxForwards: number;
  /**
   * Told of each request this server forwarded, once it ended (the metrics record it): its
   * method (an upgrade's is GET), how it ended, when it was forwarded (performance.now()), and
   * the error code of a failed one.
   */
  forwarded?: ((method: "GET" | "POST" | "DELETE", end: ForwardEnd, startedAt: number, code: ErrorCode | undefined) => void) | undefined;
  /** Bytes of POST bodies this server may hold at once for other servers (read, and waiting to be taken). */
  maxForwardedBytes: number;
  log: LogWriter;
}

/** The client's side of a forwarded request: its response, or its socket for an upgrade. */
export interface ClientSide {
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}
