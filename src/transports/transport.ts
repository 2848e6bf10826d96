/** The three SignalR transports, named exactly as negotiate lists them. */
export type TransportName = "WebSockets" | "ServerSentEvents" | "LongPolling";

/** Fallback order, best first: negotiate lists an endpoint's transports in this order. */
export const allTransports: readonly TransportName[] = ["WebSockets", "ServerSentEvents", "LongPolling"];

/** Moves bytes for one connection. Text goes as text, a Uint8Array as binary where the transport can. */
export interface Transport {
  readonly name: TransportName;
  /** Queues data for the peer; never throws (a dead transport drops it and reports its close). */
  send(data: string | Uint8Array): void;
  /** Ends the transport gracefully (WebSocket close 1000). */
  close(): void;
}
