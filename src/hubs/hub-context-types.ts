import type { CloseOptions } from "./client-proxy.js";

/** The request that started a connection: the WebSocket upgrade, the SSE GET or the first poll. */
export interface HubRequest {
  readonly url: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly query: URLSearchParams;
  readonly cookies: Readonly<Record<string, string>>;
  readonly remoteAddress: string | undefined;
  /** A header by name (case-insensitive); several values are joined with ", ". */
  header(name: string): string | undefined;
}

/** What a hub knows about the connection it serves. */
export interface HubCallerContext {
  /** The public connection id (what `clients.client(id)` takes). */
  readonly connectionId: string;
  /** The id the user id provider derived from `user`, if any. */
  readonly userIdentifier: string | undefined;
  /** What the endpoint's `authenticate` hook returned (`null` when anonymous). */
  readonly user: unknown;
  /** Storage that lives as long as the connection. */
  readonly items: Map<unknown, unknown>;
  readonly request: HubRequest;
  /** "WebSockets", "ServerSentEvents" or "LongPolling". */
  readonly transport: string;
  /** Aborted when the connection ends. */
  readonly signal: AbortSignal;
  /** Ends the connection (the client is told, without an error). */
  abort(): void;
  /**
   * Ends the connection with a Close message carrying `error` (shown to the client as
   * `Server returned an error on close: <error>`) and, if set, asking it to reconnect.
   */
  close(options?: CloseOptions): void;
}
