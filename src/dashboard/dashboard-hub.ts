import { Authorize, HubClass, HubMethod } from "../hubs/decorators.js";
import { HubException } from "../hubs/hub-exception.js";
import { Hub } from "../hubs/hub.js";
import type { HubClassType } from "../hubs/hub-descriptor.js";
import type { ConnectionDetails } from "./connection-search.js";
import type { ServerSummary } from "./server-summary.js";

/** What the page shows: this server first, then the others that answered lately. */
export interface DashboardView {
  at: number;
  servers: ServerSummary[];
}

/** What the dashboard's page is sent. */
export interface DashboardClient {
  Update(view: DashboardView): void;
}

export interface DashboardService {
  view(): DashboardView;
  search(query: string): Promise<ConnectionDetails[]>;
}

/** The hub's name, in logs and in the dashboard's own metrics (it is not shown on the page). */
export const dashboardHubName = "HubwireDashboard";

/**
 * The hub the page connects to, made for one mounted dashboard: every viewer must pass
 * `policy`, so no figure reaches anyone without it.
 */
export function dashboardHubClass(service: DashboardService, policy: string): HubClassType<Hub<DashboardClient>> {
  @Authorize(policy)
  @HubClass({ name: dashboardHubName })
  class DashboardHub extends Hub<DashboardClient> {
    @HubMethod("Snapshot")
    snapshot(): DashboardView {
      return service.view();
    }

    @HubMethod("Search")
    search(query: unknown): Promise<ConnectionDetails[]> {
      if (typeof query !== "string" || query.length === 0 || query.length > 200) {
        throw new HubException("Search takes a connection id or a user id of 1 to 200 characters.");
      }
      return service.search(query);
    }
  }
  return DashboardHub;
}
