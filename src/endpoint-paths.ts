import type { HubRuntime } from "./dispatch/hub-runtime.js";
import { HubwireError } from "./errors.js";
import type { ConnectionEndpoint } from "./transports/connection-endpoint.js";
import type { MultiplexHandler } from "./transports/multiplex-handler.js";

export interface MappedEndpoint {
  endpoint: ConnectionEndpoint;
  /** Absent for raw connection endpoints. */
  runtime?: HubRuntime;
  /** A multiplexing endpoint's connections. */
  multiplexer?: MultiplexHandler;
}

/**
 * A server's endpoints by path, matched as ASP.NET Core matches them: case-insensitively, with
 * or without a trailing slash, and `<path>/negotiate` for each.
 */
export class EndpointPaths {
  private readonly endpoints = new Map<string, MappedEndpoint>();
  /** Paths of pages the server serves (a dashboard's). */
  private readonly pages = new Set<string>();

  /** Checks that `path` is free and returns its key; throws ERR_INVALID_PATH or ERR_PATH_IN_USE. */
  claim(path: string): string {
    // A path without its slash can never match a request's path: an endpoint nobody could reach.
    if (typeof path !== "string" || !path.startsWith("/")) {
      throw new HubwireError("ERR_INVALID_PATH", `Endpoint paths start with '/': '${String(path)}' does not.`);
    }
    const key = normalizePath(path);
    if (this.endpoints.has(key) || this.pages.has(key)) throw new HubwireError("ERR_PATH_IN_USE", `An endpoint is already mapped at '${path}'.`);
    return key;
  }

  /** `key`: from {@link claim}. */
  set(key: string, mapped: MappedEndpoint): void {
    this.endpoints.set(key, mapped);
  }

  addPage(key: string): void {
    this.pages.add(key);
  }

  get(path: string): MappedEndpoint | undefined {
    return this.endpoints.get(normalizePath(path));
  }

  entries(): IterableIterator<[string, MappedEndpoint]> {
    return this.endpoints.entries();
  }

  values(): IterableIterator<MappedEndpoint> {
    return this.endpoints.values();
  }

  /**
   * The endpoint a request's URL is for, and whether it asks for negotiate or an authentication
   * refresh (only where the endpoint serves them: otherwise the path is not hubwire's).
   */
  match(url: string | undefined): { mapped: MappedEndpoint; rest: EndpointRest } | undefined {
    if (!url) return undefined;
    const path = pathOf(url);
    const direct = this.endpoints.get(path);
    if (direct) return { mapped: direct, rest: "" };
    for (const rest of ["/negotiate", "/refresh"] as const) {
      if (!path.endsWith(rest)) continue;
      const mapped = this.endpoints.get(path.slice(0, -rest.length) || "/");
      if (mapped && (rest === "/negotiate" || mapped.endpoint.servesAuthenticationRefresh)) return { mapped, rest };
    }
    return undefined;
  }
}

/** What follows an endpoint's path in a request's: nothing, negotiate, or an authentication refresh. */
export type EndpointRest = "" | "/negotiate" | "/refresh";

/** A request URL's path, normalized. */
export function pathOf(url: string): string {
  const q = url.indexOf("?");
  return normalizePath(q === -1 ? url : url.slice(0, q));
}

/** Lower case, no trailing slash: "/Chat/" and "/chat" are one path. */
function normalizePath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith("/") ? lower.slice(0, -1) : lower;
}
