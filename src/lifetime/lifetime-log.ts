import { logEvents } from "../logger.js";

/** Every line the scale-out lifetime manager logs, with its level: each is for the operator of the backplane. */
export const lifetimeLog = logEvents({
  undecodableMessage: { level: "warn", message: "Undecodable message from the backplane dropped" },
  /** Logged by a backplane (Redis's, the cluster's) whose subscriber's handler threw. */
  backplaneHandlerThrew: { level: "error", message: "Backplane message handler threw" },
  noProtocolForMessage: { level: "warn", message: "Message from the backplane in no protocol of this hub dropped" },
  publishFailed: { level: "warn", message: "Backplane publish failed; other servers miss this message" },
  outboxHolding: { level: "warn", message: "Backplane path down; messages for other servers wait in the outbox" },
  outboxResumed: { level: "info", message: "Backplane reachable again; the outbox delivers what waited" },
  outboxDropped: { level: "warn", message: "Backplane reachable again; the outbox dropped messages past its bounds, other servers miss them" },
  outboxLost: { level: "warn", message: "Closing before the backplane took every message; those still in the outbox are lost" },
  unheard: { level: "warn", message: "This server's heartbeats go out but it hears none of them; subscribing to its channels again" },
  serverLeft: { level: "info", message: "A server of this hub closed" },
  serverGone: { level: "warn", message: "A server of this hub stopped announcing itself; it counts as gone" },
  linkDropped: { level: "debug", message: "A link to the backplane dropped; other servers' messages wait until each sends again what this server may have missed" },
  replayAsked: { level: "debug", message: "Asking another server to send again what this server may have missed" },
  replayed: { level: "info", message: "Another server sent again what this server missed while its link to the backplane was down" },
  replayIncomplete: { level: "warn", message: "Another server kept too little to send again all this server missed while its link to the backplane was down; some of it may be lost" },
  replayGaveUp: { level: "warn", message: "Delivering another server's messages without all it was asked to send again; what this server missed while its link was down may come late or be lost" },
  malformedMessage: { level: "warn", message: "Malformed backplane message dropped" },
  subscribeFailed: { level: "warn", message: "Backplane subscribe failed" },
  unsubscribeFailed: { level: "warn", message: "Backplane unsubscribe failed" },
  resubscribeFailed: { level: "warn", message: "Backplane resubscribeAll failed; tried again if this server still hears none of its heartbeats" },
  recovered: { level: "info", message: "A connection of a dead server was recovered here; it waits for its client" },
  notRecovered: { level: "warn", message: "A connection of a dead server could not be recovered; its client starts a new connection" },
  remoteGroupChangeFailed: { level: "warn", message: "Group change asked by another server failed; not acknowledged" },
});
