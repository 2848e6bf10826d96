import type { ConnectionAdmission, Refusal } from "./connection-admission.js";
import type { ConnectionRequest } from "./connection-request.js";
import { replyJson, type HttpReply } from "./http-replies.js";
import type { TransportConnection } from "./transport-connection.js";

/** The header the official client 11 names the connection with in an authentication refresh (also read: `id` in the query). */
const connectionTokenHeader = "x-signalr-connection-token";

/** The connection token an authentication refresh names its connection with, if any. */
export function refreshedConnectionToken(request: ConnectionRequest): string | null {
  return request.header(connectionTokenHeader) ?? request.connectionToken();
}

/**
 * Whole seconds until `expiresAt` (ms since the epoch), as negotiate and a refresh report a
 * token's lifetime (0 for less than a second left, as ASP.NET Core 11 writes it); undefined where
 * no expiry is known or it has passed.
 */
export function tokenLifetimeSeconds(expiresAt: number | undefined): number | undefined {
  if (expiresAt === undefined) return undefined;
  const left = expiresAt - Date.now();
  return left > 0 ? Math.floor(left / 1000) : undefined;
}

/**
 * Answers a refresh that failed: `{ error, error_description }`. The error is ASP.NET Core 11's
 * (which sends it alone); the description, the text the same refusal has elsewhere, is hubwire's.
 */
export function refuseRefresh(res: HttpReply, status: number, error: string, description: string): string {
  replyJson(res, JSON.stringify({ error, error_description: description }), {}, status);
  return error;
}

/**
 * SignalR 11's answer to a long poll authenticated as another user than its connection's whose
 * authentication ends no sooner (or never: an anonymous poll of a hub that admits anonymous
 * users, a changed cookie): rather than refuse the poll, the server asks its client to refresh
 * the connection's authentication and poll again. The refresh decides whose the connection is.
 */
export function askForRefresh(res: HttpReply): void {
  refuseRefresh(res, 409, "authentication_refresh_required", "The poll is not authenticated as the connection's user: refresh the authentication, then poll again.");
}

/** The error a refused refresh is answered with, ASP.NET Core 11's name for its refusal. */
function refreshError(refusal: Refusal): string {
  if (refusal.refreshRejected) return "permission_change_rejected";
  if (refusal.userChanged) return "user_changed";
  if (refusal.status === 401) return "invalid_token";
  return refusal.status === 403 ? "forbidden" : "server_error";
}

/** Answers a refresh for a connection this server does not have (or that has ended). */
export function refuseUnknownConnection(res: HttpReply): string {
  return refuseRefresh(res, 404, "connection_not_found", "No active connection with the specified ID.");
}

/**
 * An authentication refresh (`POST <path>/refresh`) for `connection`: the request is
 * authenticated as any later request of the connection is (it must be the connection's user),
 * and its user and expiry become the connection's, so that the close on expiry follows the
 * fresh token. Answers the token's lifetime when it has one (`{ tokenLifetimeSeconds }`, else
 * `{}`), as ASP.NET Core 11 does. Resolves with the outcome: `ok`, or the error it answered.
 */
export async function refreshAuthentication(res: HttpReply, request: ConnectionRequest, connection: TransportConnection, admission: ConnectionAdmission): Promise<string> {
  if (connection.isClosed) return refuseUnknownConnection(res);
  const verdict = await admission.readmit(connection, request, false);
  if ("status" in verdict) {
    admission.refused(request, verdict.status);
    return refuseRefresh(res, verdict.status, refreshError(verdict), verdict.reason || "Authentication failed.");
  }
  // It may have ended while the request was authenticated.
  if (connection.isClosed) return refuseUnknownConnection(res);
  admission.adopt(connection, verdict);
  // A multiplexed connection's users are its hubs': its token lasts as long as the first of theirs.
  const { receiver } = connection;
  const lifetime = tokenLifetimeSeconds(receiver?.earliestAuthExpiry ? receiver.earliestAuthExpiry() : verdict.expiresAt);
  replyJson(res, JSON.stringify(lifetime === undefined ? {} : { tokenLifetimeSeconds: lifetime }));
  return "ok";
}
