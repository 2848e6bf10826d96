import { logEvents } from "../logger.js";

/** Every line the scale-out lifetime manager logs, with its level: each is for the operator of the backplane. */
export const lifetimeLog = logEvents({
  undecodableMessage: { level: "warn", message: "Undecodable message from the backplane dropped" },
  noProtocolForMessage: { level: "warn", message: "Message from the backplane in no protocol of this hub dropped" },
  publishFailed: { level: "warn", message: "Backplane publish failed; other servers miss this message" },
  malformedMessage: { level: "warn", message: "Malformed backplane message dropped" },
  subscribeFailed: { level: "warn", message: "Backplane subscribe failed" },
  unsubscribeFailed: { level: "warn", message: "Backplane unsubscribe failed" },
  remoteGroupChangeFailed: { level: "warn", message: "Group change asked by another server failed; not acknowledged" },
});
