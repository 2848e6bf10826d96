import type { HttpSettings } from "../http.js";

export type TransportKind = "WebSockets" | "ServerSentEvents" | "LongPolling";
export type TransferFormat = "Text" | "Binary";

/** What a transport tells its connection. */
export interface TransportEvents {
  onData(data: string | Uint8Array): void;
  /** The transport ended; `error` when it was not asked to. Called once. */
  onClose(error?: Error): void;
  /**
   * The server will serve no more polls until the connection's authentication is refreshed
   * (SignalR 11's 409 `authentication_refresh_required`): resolves once it is, rejects if it
   * could not be. A connection that cannot refresh leaves this out; the poll then fails.
   */
  refreshAuthentication?(): Promise<unknown>;
}

/** Moves a connection's bytes: started once, stopped once. */
export interface ClientTransport {
  readonly kind: TransportKind;
  /** Opens the transport at `url` (the hub URL with `id=` when negotiated). */
  connect(url: string, format: TransferFormat): Promise<void>;
  send(data: string | Uint8Array): Promise<void>;
  stop(): Promise<void>;
  /** The connection id the server gave, for transports that learn it themselves (a hub on a shared connection). */
  readonly connectionId?: string | undefined;
  /**
   * True when something else keeps the connection alive (a hub on a shared connection: the
   * `HubMultiplexer` pings for all its hubs), so the hub connection runs no keep-alive of its own.
   */
  readonly keepsAlive?: boolean;
  /** Set when the connection may go on over a new transport after this one drops (stateful reconnect). */
  readonly resumable?: Resumable | undefined;
}

/** How a dropped transport's connection is taken over by a new transport (stateful reconnect). */
export interface Resumable {
  /** Opens the new transport of the same connection, whose events are `events`. */
  reopen(events: TransportEvents): Promise<ClientTransport>;
  /**
   * `reopen` waits by itself for the connection to be taken over (a multiplexed hub's waits for
   * its shared connection's own attempts), so one failure is final: reattaching stops there
   * instead of trying again, and the connection is lost (its hub then starts anew).
   */
  readonly retriesItself?: boolean;
}

export interface TransportContext {
  http: HttpSettings;
  events: TransportEvents;
}
