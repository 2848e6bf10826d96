import { ErrorCodes, HubwireError } from "../errors.js";
import type { LogWriter } from "../logger.js";
import { askForRefresh } from "./authentication-refresh.js";
import { bearerToken, type ConnectionRequest } from "./connection-request.js";
import { replyJson, replyText, type HttpReply } from "./http-replies.js";
import { transportLog } from "./transport-log.js";
import type { TransportConnection } from "./transport-connection.js";

/**
 * The verdict on a request: a user (anything, `null` for anonymous) with its id, the identity
 * every later request of the connection must match, and when its authentication ends; or a
 * refusal with a reason for the client (`userChanged`: the request is another user's than its
 * connection's, which an authentication refresh names `user_changed`, as ASP.NET Core's does;
 * `endsNoSooner`: that other user's authentication ends no sooner than the connection's, or
 * never, where SignalR 11 asks a long poll to refresh instead, see refusePoll;
 * `refreshRejected`: the connection's user, but a change of its authentication the hub's
 * acceptAuthenticationRefresh refused).
 */
export type Admission =
  | { user: unknown; identity: string; userId?: string | undefined; expiresAt?: number | undefined }
  | { status: 401 | 403 | 500; reason?: string; userChanged?: true; endsNoSooner?: true; refreshRejected?: true };

export type Admitted = Exclude<Admission, { status: number }>;
export type Refusal = Extract<Admission, { status: number }>;

/** Decides who may connect, from the request and its bearer token. */
export type AdmissionCheck = (request: ConnectionRequest, token: string | undefined) => Admission | Promise<Admission>;

const anonymous: Admission = { user: null, identity: "anonymous" };

/**
 * Who may use an endpoint: every request is authenticated, and every request of a connection
 * after the first must be its connection's user.
 */
export class ConnectionAdmission {
  constructor(
    private readonly check: AdmissionCheck | undefined,
    private readonly path: string,
    private readonly log: LogWriter,
    /** The endpoint serves authentication refresh: a later token that ends sooner changes nothing (see adopt). */
    private readonly refreshing = false,
  ) {}

  /** A later request's user becomes the connection's, as this endpoint takes fresh tokens (see adopt). */
  adopt(connection: TransportConnection, admission: Admitted): Promise<void> | undefined {
    return adopt(connection, admission, this.refreshing);
  }

  /** 401: no user where the hub requires one; 403: a user its rules refuse (or another user); 500: no user id. */
  refused(request: ConnectionRequest, status: number): void {
    this.log.write(transportLog.admissionRefused, { path: this.path, status, hasToken: bearerToken(request, true) !== undefined });
  }

  /**
   * Refuses a request. One of `connection` whose fresh authentication the hub refused also ends
   * the connection, as ASP.NET Core 11 ends it (an authentication refresh does not come here).
   */
  refuse(request: ConnectionRequest, res: HttpReply, refusal: Refusal, headers: Record<string, string> = {}, connection?: TransportConnection): void {
    this.refused(request, refusal.status);
    if (!refusal.refreshRejected || !connection) return replyText(res, refusal.status, refusal.reason ?? "", headers);
    replyJson(res, JSON.stringify({ error: "permission_change_rejected", error_description: refusal.reason }), headers, 403);
    endRejected(connection);
  }

  /**
   * Refuses a long poll. Where the endpoint serves authentication refresh, a poll of another user
   * whose authentication ends no sooner, on a running long-polling connection, is asked to
   * refresh instead (SignalR 11's 409, see askForRefresh).
   */
  refusePoll(request: ConnectionRequest, res: HttpReply, refusal: Refusal, connection: TransportConnection): void {
    if (!this.refreshing || !refusal.endsNoSooner || connection.transportName !== "LongPolling") return this.refuse(request, res, refusal, {}, connection);
    this.refused(request, 409);
    askForRefresh(res);
  }

  async admit(request: ConnectionRequest, token: string | undefined): Promise<Admission> {
    return this.check ? this.check(request, token) : anonymous;
  }

  /**
   * Authenticates a later request of a connection: it must be the user who negotiated it (403
   * otherwise), so a connection token alone never acts for its user. A connection whose receiver
   * admits users of its own (a multiplexed connection's hubs) has it authenticated there too.
   */
  async readmit(connection: TransportConnection, request: ConnectionRequest, allowQueryToken: boolean): Promise<Admission> {
    const token = bearerToken(request, allowQueryToken);
    const admission = await this.admit(request, token);
    if ("status" in admission) return admission;
    return (await this.laterRefusal(connection, admission, request, token)) ?? admission;
  }

  /**
   * Why a later request of `connection`, authenticated as `admission` with `token`, is refused,
   * if it is: another user's; refused by a receiver that admits users of its own (a multiplexed
   * connection's hubs); or a change of its authentication the receiver does not accept (logged).
   */
  async laterRefusal(connection: TransportConnection, admission: Admitted, request: ConnectionRequest, token: string | undefined): Promise<Refusal | undefined> {
    const refusal =
      this.otherUser(connection, admission) ??
      (await connection.receiver?.reauthenticate?.(request, token)) ??
      (await refreshRefusal(connection, admission, request, this.refreshing));
    if (refusal?.refreshRejected) this.log.write(transportLog.refreshRejected, { path: this.path, connectionId: connection.connectionId });
    return refusal;
  }

  /** A refusal when `admission` is not the user `connection` belongs to (logged). */
  otherUser(connection: TransportConnection, admission: Admitted): Refusal | undefined {
    const refusal = otherUserRefusal(connection, admission);
    if (refusal) this.log.write(transportLog.otherUser, { path: this.path, connectionId: connection.connectionId });
    return refusal;
  }
}

/** A refusal when `admission` is another user than `connection`'s (see Admission); none for the same user, or a connection with none yet. */
export function otherUserRefusal(connection: TransportConnection, admission: Admitted): Refusal | undefined {
  if (connection.identity === undefined || connection.identity === admission.identity) return undefined;
  const refusal: Refusal = { status: 403, reason: "The request is not authenticated as the connection's user.", userChanged: true };
  return endsSooner(connection, admission) ? refusal : { ...refusal, endsNoSooner: true };
}

/**
 * The admitted user becomes (or, with a fresh token, stays) the connection's. A receiver that
 * runs is told when a later request changed the authentication (another end, or the same user
 * with other claims): a hub's onAuthenticationRefreshed, which the returned promise awaits.
 *
 * `keepsLaterEnd` (an endpoint that serves authentication refresh): a later request whose
 * authentication ends sooner than the connection's changes nothing, as in ASP.NET Core 11, so a
 * request that set out with the old token and arrives after a refresh does not undo it.
 * Without it, the latest request's end is the connection's, whichever is sooner (ASP.NET Core 10).
 */
export function adopt(connection: TransportConnection, admission: Admitted, keepsLaterEnd = false): Promise<void> | undefined {
  const { receiver } = connection;
  if (keepsLaterEnd && receiver && endsSooner(connection, admission)) return undefined;
  const refreshed = receiver?.onAuthenticationRefreshed !== undefined && authenticationChanged(connection, admission);
  connection.identity ??= admission.identity;
  connection.user = admission.user;
  connection.userId = admission.userId;
  connection.authExpiresAt = admission.expiresAt;
  return refreshed ? receiver!.onAuthenticationRefreshed!() : undefined;
}

/**
 * A refusal where the running connection's receiver does not accept the change `admission` would
 * make to its authentication (a hub's acceptAuthenticationRefresh); asked only where adopt would
 * change something.
 */
export async function refreshRefusal(connection: TransportConnection, admission: Admitted, request: ConnectionRequest, keepsLaterEnd: boolean): Promise<Refusal | undefined> {
  const { receiver } = connection;
  if (!receiver?.acceptsRefresh || (keepsLaterEnd && endsSooner(connection, admission)) || !authenticationChanged(connection, admission)) return undefined;
  if (await receiver.acceptsRefresh(admission.user, admission.expiresAt, request)) return undefined;
  return { status: 403, reason: "The fresh authentication was refused.", refreshRejected: true };
}

/** Ends a connection whose fresh authentication was refused by a request other than an authentication refresh. */
export function endRejected(connection: TransportConnection): void {
  connection.abort(new HubwireError(ErrorCodes.ERR_AUTHENTICATION_REFRESH_REJECTED, "The connection's fresh authentication was refused (acceptAuthenticationRefresh)."));
}

/** Whether `admission`'s authentication ends before the connection's (both known). */
function endsSooner(connection: TransportConnection, admission: Admitted): boolean {
  const current = connection.authExpiresAt;
  return current !== undefined && admission.expiresAt !== undefined && admission.expiresAt < current;
}

function authenticationChanged(connection: TransportConnection, admission: Admitted): boolean {
  if (admission.expiresAt !== connection.authExpiresAt) return true;
  if (admission.user === connection.user) return false;
  try {
    return JSON.stringify(admission.user) !== JSON.stringify(connection.user);
  } catch {
    return true; // a user that cannot be compared is taken as changed
  }
}
