import { logEvents } from "../logger.js";

/**
 * Every line the transport layer logs, with its level. Lines name a request by its path only:
 * its query may hold an `access_token` or a connection token (`id`), which never reach a log.
 */
export const transportLog = logEvents({
  refusedOrigin: { level: "info", message: "Request from a refused origin" },
  admissionRefused: { level: "debug", message: "Connection refused by the hub's authorization" },
  tooManySends: { level: "debug", message: "Send refused: too many sends wait for this connection" },
  otherUser: { level: "debug", message: "A request authenticated as another user than its connection's was refused" },
  refreshRejected: { level: "debug", message: "A request's fresh authentication of its connection's user was refused by acceptAuthenticationRefresh" },
  negotiatedDropped: {
    level: "warn",
    message: "Negotiated connections that had not opened their transport were dropped to keep maximumNegotiatedConnections",
  },
  connectionsRefused: {
    level: "warn",
    message: "New connections were refused with 503: the server holds its maximumConnections",
  },
  startFailed: { level: "error", message: "A new connection could not be started" },
  requestFailed: { level: "error", message: "Request failed" },
  upgradeFailed: { level: "error", message: "WebSocket upgrade failed" },
  rawListenerThrew: { level: "error", message: "Raw connection listener threw" },
  forwardFailed: { level: "warn", message: "A request for a connection on another server could not be forwarded" },
  routePublishFailed: { level: "warn", message: "An answer to a forwarded request could not be published" },
  routeSubscribeFailed: { level: "warn", message: "Backplane subscribe failed; this connection is reached only by requests to this server" },
  routeUnsubscribeFailed: { level: "warn", message: "Backplane unsubscribe of a connection's route channel failed" },
  moveFailed: { level: "warn", message: "A stateful connection could not move to the server its client reconnected through" },
  malformedRoutedMessage: { level: "warn", message: "Malformed forwarded request dropped" },
});

/** A request URL fit for a log line: its path, without the query (which may carry tokens). */
export function loggablePath(url: string | undefined): string {
  if (url === undefined) return "";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
