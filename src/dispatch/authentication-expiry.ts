import { ErrorCodes } from "../errors.js";
import { HubException } from "../hubs/hub-exception.js";
import type { TransportConnection } from "../transports/transport-connection.js";
import type { ConnectionSession } from "./connection-session.js";
import { dispatchLog } from "./dispatch-log.js";

/**
 * Why a connection was closed when its user's authentication expired: what its hub's
 * onDisconnected gets. Its client is told, as ASP.NET Core tells it, to come back (a Close with
 * `allowReconnect` and no error): one that reconnects by itself does so with a fresh token.
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
 * one or, where the endpoint serves no refresh (see adopt), an earlier one: the timer follows it.
 * The session itself listens (no closure per connection), and only a connection whose expiry is
 * ever known gets an {@link ExpiryTimer}.
 */
export function closeOnExpiry(session: ConnectionSession, transport: TransportConnection): void {
  transport.authExpiryListener = session;
  if (transport.authExpiresAt !== undefined) session.authExpiryChanged();
}

/** The timer of a connection whose authentication expiry is known; see {@link closeOnExpiry}. */
export class ExpiryTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly session: ConnectionSession,
    private readonly transport: TransportConnection,
  ) {
    void session.finished.then(() => {
      clearTimeout(this.timer);
      transport.authExpiryListener = undefined;
    });
  }

  /** Sets the timer for the connection's expiry as it is now (none when it has none). */
  schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const expiresAt = this.transport.authExpiresAt;
    if (this.transport.isClosed || expiresAt === undefined) return;
    const left = expiresAt - Date.now();
    if (left <= 0) return this.session.closeForReconnect(new AuthenticationExpiredError(), dispatchLog.authenticationExpired);
    this.timer = setTimeout(() => this.schedule(), Math.min(left, longestDelay));
    this.timer.unref();
  }
}
