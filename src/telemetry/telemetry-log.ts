import { logEvents } from "../logger.js";

/** Every line telemetry logs, with its level: a broken meter is the operator's to fix. */
export const telemetryLog = logEvents({
  instrumentThrew: { level: "warn", message: "A metric instrument threw: what it records is lost, the server goes on (logged once per instrument)" },
});
