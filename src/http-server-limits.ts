import { createServer, type Server } from "node:http";
import { HubwireError } from "./errors.js";

/** Timeouts of the HTTP server `listen` creates (a server you attach keeps its own settings). */
export interface HttpServerLimits {
  /**
   * Ms a client has to send a request's headers (a WebSocket upgrade's included); a socket that
   * sends them slowly, or never, is closed (408). Default 10 000.
   */
  headersTimeout?: number;
  /**
   * Ms a client has to send a whole request, body included; past it the socket is closed (408).
   * A long-polling or SSE send held back because the hub is busy counts too. Default 30 000.
   */
  requestTimeout?: number;
}

const httpServerLimitDefaults = { headersTimeout: 10_000, requestTimeout: 30_000 } as const;

/**
 * How often Node looks for requests past their timeouts: its default (30 s) would let a socket
 * that never finishes its headers live half a minute past `headersTimeout`.
 */
const checkIntervalMs = 1000;

/** An HTTP server that ends slow or stalled requests within seconds (slowloris). */
export function createLimitedServer(limits: HttpServerLimits): Server {
  const headersTimeout = limits.headersTimeout ?? httpServerLimitDefaults.headersTimeout;
  const requestTimeout = limits.requestTimeout ?? httpServerLimitDefaults.requestTimeout;
  for (const [name, value] of [["headersTimeout", headersTimeout], ["requestTimeout", requestTimeout]] as const) {
    if (!(typeof value === "number" && value > 0)) {
      throw new HubwireError("ERR_INVALID_OPTION", `Invalid server option ${name} must be a positive number, got ${String(value)}.`);
    }
  }
  if (headersTimeout > requestTimeout) {
    throw new HubwireError("ERR_INVALID_OPTION", "Invalid server option headersTimeout must not be longer than requestTimeout.");
  }
  return createServer({
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.min(checkIntervalMs, headersTimeout),
  });
}
