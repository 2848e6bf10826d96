import { logEvents } from "./logger.js";

/** Every line the server logs of its own comings and goings, with its level: for its operators. */
export const serverLog = logEvents({
  draining: { level: "info", message: "Draining: stateful connections move to other servers, the others are told to reconnect" },
  drained: { level: "info", message: "Drained: every connection moved or ended" },
  drainTimedOut: { level: "warn", message: "Drain timed out: the connections left are closed, and their clients start anew" },
});
