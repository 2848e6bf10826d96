import type { IncomingMessage, ServerResponse } from "node:http";

/** How a request's `Origin` stands: no browser or same site, an origin on the list, any origin, or refused. */
export type OriginVerdict = "same" | "listed" | "any" | "refused";

/**
 * Which browser origins may use an endpoint, for WebSocket upgrades and (through CORS) for
 * negotiate, SSE, polls and sends. Requests without an `Origin` (non-browser clients) and from
 * the endpoint's own origin always pass. Listed origins get credentials (cookies); `"*"` admits
 * any origin, without credentials.
 */
export class OriginPolicy {
  private readonly listed: ReadonlySet<string>;
  private readonly anyOrigin: boolean;

  constructor(allowedOrigins: readonly string[] = []) {
    this.anyOrigin = allowedOrigins.includes("*");
    this.listed = new Set(allowedOrigins.filter((o) => o !== "*").map((o) => o.replace(/\/+$/, "").toLowerCase()));
  }

  check(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return "same";
    const normalized = origin.toLowerCase();
    const host = req.headers.host?.toLowerCase();
    if (host && (normalized === `http://${host}` || normalized === `https://${host}`)) return "same";
    if (this.listed.has(normalized)) return "listed";
    return this.anyOrigin ? "any" : "refused";
  }

  /** Adds the CORS headers a cross-origin response needs. */
  applyCors(req: IncomingMessage, res: ServerResponse, verdict: OriginVerdict): void {
    if (verdict === "same" || verdict === "refused") return;
    res.setHeader("Access-Control-Allow-Origin", req.headers.origin!);
    res.setHeader("Vary", "Origin");
    if (verdict === "listed") res.setHeader("Access-Control-Allow-Credentials", "true");
  }

  /** Answers a CORS preflight (OPTIONS with Access-Control-Request-Method). */
  answerPreflight(req: IncomingMessage, res: ServerResponse, verdict: OriginVerdict): void {
    if (verdict === "refused") {
      res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8" }).end("Origin not allowed");
      return;
    }
    this.applyCors(req, res, verdict);
    const requested = req.headers["access-control-request-headers"];
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "GET, POST, DELETE",
      ...(requested ? { "Access-Control-Allow-Headers": requested } : {}),
      "Access-Control-Max-Age": "600",
    });
    res.end();
  }
}

export function isPreflight(req: IncomingMessage): boolean {
  return req.method === "OPTIONS" && req.headers.origin !== undefined && req.headers["access-control-request-method"] !== undefined;
}
