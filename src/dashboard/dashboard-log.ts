import { logEvents } from "../logger.js";

/** The dashboard's log events. */
export const dashboardLog = logEvents({
  peersUnavailable: { level: "warn", message: "Dashboard: could not subscribe to the other servers' summaries; it shows this server alone" },
  publishFailed: { level: "debug", message: "Dashboard: a message to the other servers' dashboards was not published" },
  updateFailed: { level: "error", message: "Dashboard: building or sending an update failed" },
  bundleMissing: { level: "error", message: "Dashboard: the browser bundle of hubwire/client is missing; build it with `npm run build`" },
});
