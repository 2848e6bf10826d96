import type { TransportKind } from "./transport.js";

/**
 * Whether this environment can run a transport: a browser needs its WebSocket or EventSource
 * (Node has `ws` and a fetch reader in their place). A transport it cannot run is passed over
 * before anything is opened, as the official client does: trying it would cost a negotiate and
 * leave the server a connection nobody uses until it times out.
 */
export function runsHere(kind: TransportKind): boolean {
  if (kind === "LongPolling" || isNode()) return true;
  const scope = globalThis as { WebSocket?: unknown; EventSource?: unknown };
  return typeof (kind === "WebSockets" ? scope.WebSocket : scope.EventSource) === "function";
}

export function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}
