import type { ObservedHub } from "./server-summary.js";
import { membershipOf } from "./server-summary.js";
import type { RecentCall, RecentCallsByConnection } from "./recent-calls.js";

/** One connection found by a search, with what the dashboard knows of it. */
export interface ConnectionDetails {
  server: string;
  hub: string;
  connectionId: string;
  user: string | null;
  transport: string;
  protocol: string | null;
  connectedAt: number;
  groups: string[];
  /** Newest first; empty unless it is among the connections that called most recently. */
  recentCalls: RecentCall[];
}

/** The most connections one search returns (a user may have many). */
export const maxSearchResults = 20;

/**
 * The connections here whose id is `query` or whose user id is `query`: a walk over the
 * sessions, made only when a viewer searches.
 */
export function searchConnections(
  server: string,
  hubs: readonly ObservedHub[],
  calls: RecentCallsByConnection,
  query: string,
): ConnectionDetails[] {
  const found: ConnectionDetails[] = [];
  for (const hub of hubs) {
    const membership = membershipOf(hub.runtime);
    for (const { connection } of hub.runtime.sessions.values()) {
      const { connectionId } = connection;
      if (connectionId !== query && connection.userIdentifier !== query) continue;
      found.push({
        server,
        hub: hub.name,
        connectionId,
        user: connection.userIdentifier ?? null,
        transport: connection.transportName ?? "none",
        protocol: connection.protocol?.name ?? null,
        connectedAt: connection.transport.createdAt,
        groups: membership?.groupsOf(connectionId).slice(0, 100) ?? [],
        recentCalls: calls.of(connectionId),
      });
      if (found.length >= maxSearchResults) return found;
    }
  }
  return found;
}
