import type { RefreshTarget } from "./authentication-refresh.js";
import type { HubConnectionOptions } from "./connection-options.js";
import { HubClientError, isRefusal } from "./errors.js";
import { inBandRefusalParameter, inBandRefusalValue } from "../src/protocol/upgrade-refusal.js";
import { withQuery, type HttpSettings } from "./http.js";
import { negotiate } from "./negotiate.js";
import { LongPollingTransport } from "./transports/long-polling.js";
import { runsHere } from "./transports/environment.js";
import { ServerSentEventsTransport } from "./transports/server-sent-events.js";
import type { ClientTransport, Resumable, TransferFormat, TransportEvents, TransportKind } from "./transports/transport.js";
import { WebSocketTransport } from "./transports/websocket.js";

export interface StartedTransport {
  transport: ClientTransport;
  /** Null when negotiate was skipped. */
  connectionId: string | null;
  /**
   * Set when the connection may resume after its WebSocket drops (stateful reconnect, which only
   * WebSockets do): how a new socket reattaches.
   */
  resumable?: Resumable;
  /** Where the connection's authentication refreshes go: a negotiated connection's only. */
  refresh?: RefreshTarget;
}

/** A WebSocket for a connection that already exists (stateful reconnect: its new socket). */
export async function reattachWebSocket(url: string, http: HttpSettings, format: TransferFormat, events: TransportEvents): Promise<ClientTransport> {
  const transport = factories.WebSockets(http, events);
  // A refusal (the server let the connection go) is to be heard in a browser too: in band.
  await transport.connect(withQuery(url, inBandRefusalParameter, inBandRefusalValue), format);
  return transport;
}

const factories: Record<TransportKind, (http: HttpSettings, events: TransportEvents) => ClientTransport> = {
  WebSockets: (http, events) => new WebSocketTransport({ http, events }),
  ServerSentEvents: (http, events) => new ServerSentEventsTransport({ http, events }),
  LongPolling: (http, events) => new LongPollingTransport({ http, events }),
};

/**
 * Negotiates and opens the first transport that works, in the server's order, skipping those
 * this client disallows or that cannot carry `format`. As the official client does, a transport
 * that fails to start costs a fresh negotiate before the next one is tried.
 */
export async function startTransport(
  url: string,
  http: HttpSettings,
  allowed: readonly TransportKind[],
  format: TransferFormat,
  skipNegotiation: boolean,
  events: TransportEvents,
  statefulReconnect = false,
  signal?: AbortSignal,
): Promise<StartedTransport> {
  if (skipNegotiation) {
    if (allowed.length !== 1 || allowed[0] !== "WebSockets") {
      throw new HubClientError("ERR_NO_TRANSPORT", "Negotiation can only be skipped when using the WebSocket transport directly.");
    }
    const transport = factories.WebSockets(http, events);
    try {
      await connectUnlessAborted(transport, url, format, signal);
    } catch (error) {
      throw refusedOr(error);
    }
    return { transport, connectionId: null };
  }
  const failures: string[] = [];
  let negotiated = await negotiate(url, http, statefulReconnect, signal);
  const offered = negotiated.transports.map((t) => t.transport);
  for (const kind of offered) {
    const entry = negotiated.transports.find((t) => t.transport === kind);
    if (!allowed.includes(kind)) {
      failures.push(`${kind} failed: Error: '${kind}' is disabled by the client.`);
      continue;
    }
    if (!entry?.transferFormats.includes(format)) {
      failures.push(`${kind} failed: Error: '${kind}' does not support ${format}.`);
      continue;
    }
    if (!runsHere(kind)) {
      failures.push(`${kind} failed: Error: '${kind}' is not supported in your environment.`);
      continue;
    }
    const transport = factories[kind](negotiated.http, events);
    try {
      await connectUnlessAborted(transport, negotiated.url, format, signal);
      const { url: resumeUrl, http: resumeHttp } = negotiated;
      const resumable: Resumable | undefined =
        negotiated.statefulReconnect && kind === "WebSockets" ? { reopen: (events) => reattachWebSocket(resumeUrl, resumeHttp, format, events) } : undefined;
      const refresh: RefreshTarget = { url: negotiated.baseUrl, connectionToken: negotiated.connectionToken, http: negotiated.http, tokenLifetimeSeconds: negotiated.tokenLifetimeSeconds };
      return { transport, connectionId: negotiated.connectionId, refresh, ...(resumable ? { resumable } : {}) };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const refused = refusedOr(error);
      if (refused !== error) throw refused; // the next transport would be refused too
      failures.push(`${kind} failed: ${String(error)}`);
      negotiated = await negotiate(url, http, statefulReconnect, signal); // one connection per attempt
    }
  }
  throw new HubClientError(
    "ERR_NO_TRANSPORT",
    offered.length === 0
      ? "None of the transports supported by the client are supported by the server."
      : `Unable to connect to the server with any of the available transports. ${failures.join(" ")}`,
  );
}

/**
 * Opens `transport`, unless `signal` aborts first: then the transport is stopped (whatever it
 * had opened is closed) and this rejects with the signal's reason.
 */
export async function connectUnlessAborted(transport: ClientTransport, url: string, format: TransferFormat, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return transport.connect(url, format);
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      void transport.stop().catch(() => {}); // the attempt fails with the abort's reason: that is what is reported
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const connecting = transport.connect(url, format);
  connecting.catch(() => {}); // when the abort wins, the connect's own failure is of no interest
  try {
    await Promise.race([connecting, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}

/** A transport refused with 401 or 403 becomes `ERR_UNAUTHORIZED`; any other error is returned as it is. */
function refusedOr(error: unknown): unknown {
  const statusCode = (error as { statusCode?: number }).statusCode;
  if (!isRefusal(statusCode)) return error;
  return new HubClientError("ERR_UNAUTHORIZED", `The server refused the connection: ${String(error)}`, statusCode);
}

/** A transport the application supplied (`transportFactory`): opened as it is, no negotiate. */
export async function connectSupplied(transport: ClientTransport, url: string, format: TransferFormat, signal: AbortSignal): Promise<StartedTransport> {
  await connectUnlessAborted(transport, url, format, signal);
  const { resumable } = transport;
  return { transport, connectionId: transport.connectionId ?? null, ...(resumable ? { resumable } : {}) };
}

/** The transport `options` ask for: the one `transportFactory` supplies, or the first that works of those negotiate offers. */
export async function openTransport(url: string, options: HubConnectionOptions, http: HttpSettings, format: TransferFormat, events: TransportEvents, signal: AbortSignal): Promise<StartedTransport> {
  if (options.transportFactory) return connectSupplied(options.transportFactory(events), url, format, signal);
  const allowed = options.transports ?? ["WebSockets", "ServerSentEvents", "LongPolling"];
  const { skipNegotiation = false, statefulReconnect = false } = options;
  return startTransport(url, http, allowed, format, skipNegotiation, events, statefulReconnect, signal);
}
