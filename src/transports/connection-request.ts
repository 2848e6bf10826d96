import type { IncomingHttpHeaders } from "node:http";
import { sharedString } from "./shared-strings.js";

/** What a ConnectionRequest is made from: an IncomingMessage, or a request another server forwarded. */
export interface RequestSource {
  url?: string | undefined;
  headers: IncomingHttpHeaders;
  socket?: { remoteAddress?: string | undefined } | null | undefined;
}

/** What Node's net.Socket has inside: the handle that asks the system for the peer's address. */
interface SocketWithHandle {
  remoteAddress?: string | undefined;
  connecting?: boolean;
  _handle?: { getpeername?(out: { address?: string }): number } | null;
}

/**
 * What a connection keeps of the HTTP request that started it (the WebSocket upgrade, the SSE GET
 * or the first poll). The request object itself is not kept, so an idle connection stays small;
 * query and cookies are parsed on first use.
 */
export class ConnectionRequest {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  private parsedQuery: URLSearchParams | undefined;
  private parsedCookies: Record<string, string> | undefined;

  constructor(request: RequestSource) {
    const url = request.url ?? "/";
    // A URL without a query (a WebSocket that skipped negotiate) is the hub's path, the same for all.
    this.url = url.includes("?") ? url : sharedString(url);
    this.headers = withoutPlumbing(request.headers);
    this.remoteAddress = request.socket ? peerAddress(request.socket) : undefined;
  }

  /** The path, without the query string. */
  get path(): string {
    const q = this.url.indexOf("?");
    return q === -1 ? this.url : this.url.slice(0, q);
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= this.parseQuery());
  }

  /**
   * The query for a read while connecting: the kept one if a hub has read it, else parsed and not
   * kept, so a connection whose hub never reads the query does not carry it.
   */
  private parseQuery(): URLSearchParams {
    if (this.parsedQuery) return this.parsedQuery;
    const q = this.url.indexOf("?");
    return new URLSearchParams(q === -1 ? "" : this.url.slice(q + 1));
  }

  /** One query parameter, its first value (`access_token`); see parseQuery. */
  param(name: string): string | null {
    return this.parseQuery().get(name);
  }

  /**
   * A query key's value as ASP.NET Core reads it: the key whatever its case, and a key given more
   * than once as its values that are not empty joined by commas (.NET's StringValues); null when
   * the key is absent. So clients' requests find the same connection and options on both servers.
   */
  queryValue(name: string): string | null {
    let value: string | null = null;
    for (const [key, each] of this.parseQuery()) {
      if (key.length !== name.length || key.toUpperCase() !== name.toUpperCase()) continue;
      value = value === null || value === "" ? each : each === "" ? value : `${value},${each}`;
    }
    return value;
  }

  /** Whether a query key's value (see queryValue) is `true` as .NET's bool.TryParse reads it: in any case, blanks and NULs around it. */
  queryIsTrue(name: string): boolean {
    return this.queryValue(name)?.replace(/^[\s\0]+|[\s\0]+$/g, "").toLowerCase() === "true";
  }

  /** The connection token of a request to a connection (`id`, see queryValue): repeated, no connection's. */
  connectionToken(): string | null {
    return this.queryValue("id");
  }

  get cookies(): Readonly<Record<string, string>> {
    return (this.parsedCookies ??= parseCookieHeader(this.headers.cookie));
  }

  /** A header value, or undefined; several values are joined with ", ". */
  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(", ") : value;
  }
}

// Attribute names a cookie jar may (wrongly) replay inside a Cookie header.
const cookieAttributes = new Set(["path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority"]);

/**
 * Parses a Cookie header. Tolerates attributes mixed in (`a=b; Path=/`), as the Node SignalR
 * client sends them; the first value of a name wins.
 */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null);
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    if (!name || cookieAttributes.has(name.toLowerCase()) || name in cookies) continue;
    if (eq === -1) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

/** The bearer token of a request: the Authorization header, else (where allowed) `access_token`. */
export function bearerToken(request: ConnectionRequest, allowQuery: boolean): string | undefined {
  const auth = request.header("authorization");
  if (auth && /^bearer /i.test(auth)) return auth.slice(7).trim() || undefined;
  return allowQuery ? (request.param("access_token") ?? undefined) : undefined;
}

// Headers that only served the HTTP exchange itself (the WebSocket upgrade); a connection that
// lives for hours has no use for them, so it does not keep them.
const plumbing = new Set(["connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"]);

// Headers whose values many connections share: kept once (see sharedString).
const repeated = new Set(["host", "origin", "user-agent", "accept-language", "accept-encoding", "pragma", "cache-control"]);

function withoutPlumbing(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  if (headers.upgrade === undefined) return headers;
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (plumbing.has(name)) continue;
    const value = headers[name];
    kept[name] = typeof value === "string" && repeated.has(name) ? sharedString(value) : value;
  }
  return kept;
}

/**
 * The peer's address. `socket.remoteAddress` keeps what it read on the socket (an object of
 * address, family and port, and a property more: some 80 bytes for the socket's life); asking
 * the socket's handle directly keeps only the address, shared with other connections from it.
 * Read now, not when a hub asks: a closed socket no longer knows its peer.
 */
function peerAddress(socket: SocketWithHandle): string | undefined {
  const handle = socket._handle;
  if (handle && typeof handle.getpeername === "function" && !socket.connecting) {
    const out: { address?: string } = {};
    if (handle.getpeername(out) === 0 && typeof out.address === "string") return sharedString(out.address);
  }
  return sharedString(socket.remoteAddress);
}
