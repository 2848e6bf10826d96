import { logEvents } from "../logger.js";

/** Every line a multiplexed connection logs, with its level (client faults are debug). */
export const multiplexLog = logEvents({
  malformedFrame: { level: "debug", message: "A multiplexed connection sent a frame that breaks the envelope's rules; it was closed" },
  hubRefused: { level: "debug", message: "A hub could not be opened on a multiplexed connection" },
  clientTimeout: { level: "debug", message: "A multiplexed connection's client was silent past the client timeout; it was closed" },
  clientSilent: { level: "debug", message: "A stateful multiplexed connection's client was silent past the client timeout; waiting for it to reconnect" },
});
