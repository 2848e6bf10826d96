/** The three SignalR transports, named exactly as negotiate lists them. */
export type TransportName = "WebSockets" | "ServerSentEvents" | "LongPolling";

/** Fallback order, best first: negotiate lists an endpoint's transports in this order. */
export const allTransports: readonly TransportName[] = ["WebSockets", "ServerSentEvents", "LongPolling"];

/** Moves bytes for one connection. Text goes as text, a Uint8Array as binary where the transport can. */
export interface Transport {
  readonly name: TransportName;
  /**
   * Queues data for the peer; never throws (a dead transport drops it and reports its close).
   * `shared`: the same data is being sent to many connections (a broadcast), so what the
   * transport makes of it (a frame) is worth keeping for the next one.
   */
  send(data: string | Uint8Array, shared?: boolean): void;
  /**
   * As `send`, for text already encoded: `utf8` goes as text (a WebSocket's text frame, the
   * bytes copied behind its header once). Only transports that take text as bytes this cheaply
   * have it (WebSockets, long polling, a text hub's channel where its multiplexed connection
   * does); for the others a connection sends the text decoded. The only text hubwire sends as
   * bytes is JSON it wrote itself of printable ASCII (json-completion-bytes.ts): its length in
   * bytes is its length in characters, which a text envelope's header counts.
   */
  sendUtf8?: ((utf8: Uint8Array) => void) | undefined;
  /**
   * Sends `data` in the multiplexing envelope of `channel` (docs/multiplexing.md), binary or
   * text as `binary` says, written straight into the transport's own framing: one buffer, the
   * payload copied once. A text envelope's `data` is a string, or its bytes as `sendUtf8` takes
   * them (ASCII). Only transports that can (WebSockets) have it; a multiplexed connection sends
   * the others the envelope with `send`. `shared`: as for `send`.
   */
  sendEnvelope?(channel: number, data: string | Uint8Array, binary: boolean, shared?: boolean): void;
  /**
   * A multiplexed hub's channel: crash recovery keeps the hub on the standby of the multiplexed
   * connection it travels in (`carrierId`, that connection's id), so all of its hubs come back
   * on one server, with what rebuilding that connection needs (`carried()`, plain data). Its
   * client reconnects with that connection's token, `carrierToken`.
   */
  readonly carrierId?: string;
  readonly carrierToken?: string;
  carried?(): unknown;
  /** Ends the transport gracefully, after what is queued has gone (WebSocket close 1000, SSE end, poll 204). */
  close(): void;
  /** Drops the transport at once, queued data included. */
  abort(): void;
  /**
   * Bytes queued for the peer and not yet handed to the network. When a transport has written
   * out what it held, it calls its connection's `drained()`, which wakes producers waiting on
   * `whenDrained()` (streams to a slow reader).
   */
  readonly bufferedBytes: number;
  /**
   * Since when no request of the client is attached (ms timestamp), for transports whose client
   * comes and goes (long polling); undefined while attached.
   */
  readonly detachedSince?: number | undefined;
  /**
   * Drops the transport at once and never reports to its connection again (no message, no
   * close): a newer transport takes over the connection. Only transports that can be resumed
   * (WebSockets, for stateful reconnect) have it. A multiplexed hub's channel cannot be dropped
   * alone: its physical connection drops its socket instead, and the channel waits with it.
   */
  retire?(): void;
  /**
   * Stops reading from the peer (where the transport reads by itself: WebSockets). Transports
   * whose data comes by POST leave the next POST's body unread instead (the endpoint waits on
   * `TransportConnection.whenReceiving()` before reading it).
   */
  pause?(): void;
  resume?(): void;
  /**
   * The connection's opening exchange (the hub handshake) is over and it may now sit idle for
   * hours: the transport lets go of what reading it grew (a WebSocket's read queue), so an idle
   * connection holds no more than one that never received anything.
   */
  settle?(): void;
  /**
   * True while a closed connection must stay findable by its token, so a returning client can
   * still be told it is over (long polling's final 204).
   */
  readonly lingering?: boolean;
  /**
   * True when something other than the hub keeps the connection alive and notices a silent
   * client (a hub inside a multiplexed connection: the physical connection pings for all its
   * hubs), so the hub sends no pings of its own and times out no client.
   */
  readonly keepsAlive?: boolean;
}
