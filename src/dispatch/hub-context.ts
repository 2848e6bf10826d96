import type { ConnectionManager, GroupManager, HubClients } from "../hubs/client-proxy.js";

/**
 * A hub's clients and groups for code outside hub methods: services, timers, HTTP handlers.
 *
 * @example
 * const notifications = server.hubContext(NotificationHub);
 * setInterval(() => notifications.clients.all.tick(Date.now()), 1000);
 */
export interface HubContext<TClient> {
  readonly clients: HubClients<TClient>;
  readonly groups: GroupManager;
  /** Finds a user's connections, and ends connections (one, a user's, a group's or all), on every server. */
  readonly connections: ConnectionManager;
}
