import { ErrorCodes } from "../errors.js";
import { HubException } from "../hubs/hub-exception.js";
import type { TransportConnection } from "../transports/transport-connection.js";
import type { ConnectionSession } from "./connection-session.js";
import { dispatchLog } from "./dispatch-log.js";

/**
 * Why a connection was closed when its user's authentication expired. A HubException, so its
 * client sees the reason: `Connection closed with an error. HubException: Authentication expired.`
 *
 * @example
 * override onDisconnected(error?: Error) {
 *   if (error instanceof AuthenticationExpiredError) audit("session ended", this.context.userIdentifier);
 * }
 */
export class AuthenticationExpiredError extends HubException {
  readonly code = ErrorCodes.ERR_AUTHENTICATION_EXPIRED;
  constructor() {
    super("Authentication expired.");
  }
}

/** Whether the connection's user's authentication has ended. */
export function authenticationExpired(transport: TransportConnection): boolean {
  const expiresAt = transport.authExpiresAt;
  return expiresAt !== undefined && expiresAt <= Date.now();
}

/** The connection's user while its authentication lasts; `null` (nobody) once it has expired. */
export function currentUser(transport: TransportConnection): unknown {
  return authenticationExpired(transport) ? null : transport.user;
}

// setTimeout holds at most a 32-bit delay; a longer wait is taken in steps.
const longestDelay = 2 ** 31 - 1;

/**
 * Closes a hub connection when its user's authentication expires. A later request with a fresh
 * token (long polling, SSE sends, a reconnect) may bring an expiry where none was known, a later
 * one or an earlier one: the timer follows it. A connection without a known expiry holds no timer.
 */
export function closeOnExpiry(session: ConnectionSession, transport: TransportConnection): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watched = false;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const expiresAt = transport.authExpiresAt;
    if (transport.isClosed || expiresAt === undefined) return;
    const left = expiresAt - Date.now();
    if (left <= 0) return session.closeWithError(new AuthenticationExpiredError(), dispatchLog.authenticationExpired);
    timer = setTimeout(schedule, Math.min(left, longestDelay));
    timer.unref();
    if (watched) return;
    watched = true; // only a connection that ever has a timer needs to drop it when it ends
    void session.finished.then(() => {
      clearTimeout(timer);
      transport.authExpiryListener = undefined;
    });
  };
  transport.authExpiryListener = schedule;
  schedule();
}
