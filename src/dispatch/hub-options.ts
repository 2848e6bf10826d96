import { HubwireError } from "../errors.js";
import type { HubRequest } from "../hubs/hub-context-types.js";
import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";
import { defaultMaximumGroupsPerConnection } from "../lifetime/in-memory-lifetime-manager.js";
import type { TransportName } from "../transports/transport.js";
import type { HubFilter } from "./hub-filter.js";

/**
 * Turns a request (and its bearer token, from the Authorization header or, for WebSockets and
 * SSE, the `access_token` query) into a user. It runs for negotiate and again for every later
 * request of the connection (polls, sends, reconnects), which must give the same user (the same
 * user id) or are refused with 403. Return `null` for anonymous; a bad or expired token should
 * give `null` too (a hub that requires a user then answers 401). Wrap the user with
 * `authenticated(user, { expiresAt })` when its authentication ends at a known time. A throw
 * refuses the request with 401.
 */
export type Authenticate = (request: HubRequest, token: string | undefined) => unknown | Promise<unknown>;

/**
 * Derives the user id that `clients.user(id)` targets, and that tells whether later requests of
 * a connection are its user's. A throw refuses the request with 500.
 */
export type UserIdProvider = (user: unknown, request: HubRequest) => string | undefined;

/** A later request's fresh authentication of a connection's user; see `acceptAuthenticationRefresh`. */
export interface AuthenticationRefresh {
  readonly connectionId: string;
  /** The connection's user until now. */
  readonly previousUser: unknown;
  /** The user the request authenticates: the same user (by user id, or as a whole), maybe with other claims. */
  readonly user: unknown;
  /** When the fresh authentication ends (ms since the epoch), if it is known. */
  readonly expiresAt: number | undefined;
  /** The request that brought it (an authentication refresh, a poll, a send, a resumed WebSocket). */
  readonly request: HubRequest;
}

/**
 * Whether a later request's fresh authentication may become the connection's (ASP.NET Core 11's
 * OnAuthenticationRefresh): asked only where it changes something (another end, other claims).
 * `false` (or a throw) refuses it: an authentication refresh is answered 403
 * `permission_change_rejected` and the connection keeps its user; any other request is refused
 * with 403 and the connection closed (`ERR_AUTHENTICATION_REFRESH_REJECTED`).
 */
export type AcceptAuthenticationRefresh = (refresh: AuthenticationRefresh) => boolean | Promise<boolean>;

/** A named authorization rule for `@Authorize("name")`; the user is never null here. */
export type AuthorizationPolicy = (user: unknown, context: PolicyContext) => boolean | Promise<boolean>;

export interface PolicyContext {
  hub: string;
  /** The wire name of the method called, absent when connecting. */
  method?: string;
  request: HubRequest;
}

/** Per-hub options; unset ones take the server's, then the defaults below. */
export interface HubOptions {
  /** Transports offered, in fallback order. Default: all the server supports. */
  transports?: TransportName[];
  /** Hub protocols accepted by name. Default: all the server has. */
  protocols?: string[];
  /** Send error texts of ordinary exceptions to clients (HubException texts always go). Default false. */
  enableDetailedErrors?: boolean;
  /** Largest incoming hub message in bytes; `null` for no limit. Default 32 768. */
  maximumReceiveMessageSize?: number | null;
  /**
   * Connections one user may have to the hub on each server at once; `null` for no bound. A
   * connection past it fails its handshake (`Too many connections for this user.`), and those the
   * user has go on. Anonymous connections are not counted. Default null.
   */
  maximumConnectionsPerUser?: number | null;
  /** Invocations of one connection that may run at once. Default 1. */
  maximumParallelInvocationsPerClient?: number;
  /**
   * Invocations of one connection that may wait for a free slot; when this many wait, the server
   * stops reading from that client until half have started (backpressure). Default 64.
   */
  maximumQueuedInvocationsPerClient?: number;
  /** The same bound in bytes: the size of the messages that wait. Default 1 MiB. */
  maximumQueuedInvocationBytesPerClient?: number;
  /**
   * Invocations one connection may start per second, on average; `null` for no bound. Every
   * invocation counts (a call, a send without a result, a stream, one of an unknown method).
   * Past it, invocations wait their turn in the queue above, and once that is full the server
   * stops reading from the client: a client that calls too fast is slowed down, never refused,
   * and a flood costs only its sender. Default null.
   */
  maximumInvocationsPerSecondPerClient?: number | null;
  /**
   * With maximumInvocationsPerSecondPerClient: how many invocations a client may start at once
   * after a quiet spell, before the rate holds it back. Default: a second's worth (at least 1).
   */
  invocationBurstPerClient?: number;
  /**
   * Upload streams one connection may have open, each counted until its call ends (calls with
   * uploads run beside maximumParallelInvocationsPerClient, so this bounds them); a call that
   * would open more, or names a stream id already open, fails. Default 10.
   */
  maximumUploadStreamsPerClient?: number;
  /**
   * Server-to-client streams one connection may have open (`StreamInvocation`s started and not
   * yet ended); a stream past it fails with an error. Default 100.
   */
  maximumStreamsPerClient?: number;
  /**
   * Groups one connection may be in, with the built-in lifetime managers; a join past it throws a
   * `LimitExceededError` (a HubException: the caller of the hub method sees its text). Default 1 000.
   */
  maximumGroupsPerConnection?: number;
  /** Ping after this many ms without sending. Default 15 000. */
  keepAliveInterval?: number;
  /**
   * Close a client silent for this many ms; a stateful connection only drops the silent socket
   * and waits for its client to reconnect. Default 30 000.
   */
  clientTimeoutInterval?: number;
  /** How long `invoke` on a client waits for its result, unless the call sets its own. Default 30 000. */
  clientResultTimeout?: number;
  /** Items buffered per upload stream before the connection stops reading (backpressure). Default 10. */
  streamBufferCapacity?: number;
  /**
   * Let clients that ask for it (`withStatefulReconnect()` in the official client) keep their
   * connection across a dropped WebSocket: they reconnect within `disconnectTimeout` and
   * nothing sent either way is lost or handled twice. Default false.
   */
  allowStatefulReconnects?: boolean;
  /**
   * Bytes of sent messages kept per connection until the client acknowledges them, for stateful
   * reconnect. A connection that goes past it can no longer resume, and ends on its next drop
   * (its client then reconnects as a new connection). Default 100 000.
   */
  statefulReconnectBufferSize?: number;
  /** Close a client that has not completed its handshake after this many ms. Default 15 000. */
  handshakeTimeout?: number;
  /**
   * Drop a negotiated connection that never starts, a long-polling client that stops polling, or
   * a stateful connection whose client does not reconnect, after this many ms. Default 15 000.
   */
  disconnectTimeout?: number;
  /**
   * Negotiated connections that may wait for their transport at once. Past it the one that has
   * waited longest is dropped (its client's transport request then gets 404), so a client that
   * only negotiates cannot make the server hold `disconnectTimeout` worth of connections.
   * Default 10 000.
   */
  maximumNegotiatedConnections?: number;
  /** Hold a long poll this many ms when there is nothing to send. Default 90 000. */
  pollTimeout?: number;
  /**
   * Unsent bytes a connection may pile up for a client that stops reading (no poll, a stalled
   * stream or socket) before it is dropped. Default 4 MiB.
   */
  maximumSendBufferSize?: number;
  /**
   * Browser origins (`https://app.example.com`) allowed besides the server's own, for every
   * transport: CORS for negotiate, SSE, polls and sends (with credentials), and the `Origin` check
   * of WebSocket upgrades. `"*"` admits any origin, without credentials. Requests without an
   * `Origin` (non-browser clients) always pass. Default: none.
   */
  allowedOrigins?: string[];
  authenticate?: Authenticate;
  userIdProvider?: UserIdProvider;
  /**
   * Close a connection when its user's authentication expires (an expiry `authenticate` gave
   * with `authenticated(user, { expiresAt })`, or a JWT `exp` claim on the user), as ASP.NET
   * Core does: a Close with `allowReconnect` and no error, so a client that reconnects by itself
   * comes back with a fresh token; the hub's onDisconnected gets an AuthenticationExpiredError.
   * Off, the connection stays, but its user no longer passes `@Authorize`. Connections without a
   * known expiry are never closed for it. Default true.
   */
  closeOnAuthenticationExpiration?: boolean;
  /**
   * Serve `<path>/refresh`, SignalR 11's authentication refresh: a client sends a fresh token for
   * its connection without reconnecting, and the connection's user and authentication expiry
   * (its close on expiry, its `@Authorize`) follow it. Negotiate then tells the client how long
   * its token lasts (`tokenLifetimeSeconds`), which the official client 11's
   * `withAuthenticationRefresh()` refreshes before. A refresh must be the connection's user.
   * Default false, as in ASP.NET Core.
   */
  authenticationRefresh?: boolean;
  /**
   * The longest a request's authentication counts for, in ms from when it is made (ASP.NET Core
   * 11's MaximumAuthenticationExpiration): a token without an expiry, or one that ends later,
   * ends then. With `closeOnAuthenticationExpiration`, a connection is then closed unless a
   * request (a refresh, with `authenticationRefresh`) brings a fresh token in time, so a user's
   * sign-in is checked again at least this often. Anonymous users have no end. Default null: none.
   */
  maximumAuthenticationExpiration?: number | null;
  /**
   * Decides whether a later request's fresh authentication may replace the connection's (see
   * `AcceptAuthenticationRefresh`): to refuse, say, one whose roles grew. Default: any of the
   * connection's user is taken.
   */
  acceptAuthenticationRefresh?: AcceptAuthenticationRefresh;
  /** Who receives what; replace it to scale out. Default: in-memory. */
  lifetimeManager?: HubLifetimeManager;
  /**
   * Code around every method call, onConnected, onDisconnected and onAuthenticationRefreshed (see `HubFilter`). The
   * server's filters and a hub's both apply, the server's first. Default: none.
   */
  filters?: HubFilter[];
}

export type ResolvedHubOptions = Required<Omit<HubOptions, "authenticate" | "allowedOrigins" | "lifetimeManager" | "acceptAuthenticationRefresh">> &
  Pick<HubOptions, "authenticate" | "allowedOrigins" | "lifetimeManager" | "acceptAuthenticationRefresh">;

export const hubOptionDefaults = {
  enableDetailedErrors: false,
  maximumReceiveMessageSize: 32 * 1024,
  maximumConnectionsPerUser: null,
  maximumParallelInvocationsPerClient: 1,
  maximumQueuedInvocationsPerClient: 64,
  maximumQueuedInvocationBytesPerClient: 1024 * 1024,
  maximumInvocationsPerSecondPerClient: null,
  maximumUploadStreamsPerClient: 10,
  // Each open stream holds its iterator, pump and scope (about 3.5 KB in the abuse bench) and
  // keeps the transport busy: 100 is far more than a client needs for its subscriptions, and
  // keeps one client's streams under half a MB of heap.
  maximumStreamsPerClient: 100,
  maximumGroupsPerConnection: defaultMaximumGroupsPerConnection,
  keepAliveInterval: 15_000,
  clientTimeoutInterval: 30_000,
  handshakeTimeout: 15_000,
  clientResultTimeout: 30_000,
  streamBufferCapacity: 10,
  disconnectTimeout: 15_000,
  // A client opens its transport as soon as negotiate answers; 10 000 waiting at once is a
  // reconnect storm's worth, and about 5 MB of heap (`npm run bench:abuse`).
  maximumNegotiatedConnections: 10_000,
  pollTimeout: 90_000,
  maximumSendBufferSize: 4 * 1024 * 1024,
  allowStatefulReconnects: false,
  statefulReconnectBufferSize: 100_000,
  closeOnAuthenticationExpiration: true,
  authenticationRefresh: false,
  maximumAuthenticationExpiration: null,
} satisfies Partial<HubOptions>;

/** The default user id: `sub`, `id` or `name` of the user object (or the user, if it is a string). */
export const defaultUserIdProvider: UserIdProvider = (user) => {
  if (typeof user === "string") return user;
  if (user && typeof user === "object") {
    const { sub, id, name } = user as Record<string, unknown>;
    for (const value of [sub, id, name]) if (typeof value === "string" || typeof value === "number") return String(value);
  }
  return undefined;
};

/** Merges hub, server and default options and checks their ranges. */
export function resolveHubOptions(
  hub: HubOptions,
  server: HubOptions,
  available: { transports: TransportName[]; protocols: string[] },
): ResolvedHubOptions {
  const merged = { ...hubOptionDefaults, ...stripUndefined(server), ...stripUndefined(hub) };
  const resolved: ResolvedHubOptions = {
    ...merged,
    transports: merged.transports ?? available.transports,
    protocols: merged.protocols ?? available.protocols,
    userIdProvider: merged.userIdProvider ?? defaultUserIdProvider,
    invocationBurstPerClient: merged.invocationBurstPerClient ?? Math.max(1, Math.ceil(merged.maximumInvocationsPerSecondPerClient ?? 1)),
    filters: [...checked(server.filters), ...checked(hub.filters)],
  };
  for (const t of resolved.transports) {
    if (!available.transports.includes(t)) invalid(`transports: '${t}' is not supported (have ${available.transports.join(", ")})`);
  }
  for (const p of resolved.protocols) {
    if (!available.protocols.includes(p)) invalid(`protocols: '${p}' is not supported (have ${available.protocols.join(", ")})`);
  }
  if (resolved.transports.length === 0) invalid("transports: at least one is needed");
  if (resolved.protocols.length === 0) invalid("protocols: at least one is needed");
  positive("maximumParallelInvocationsPerClient", resolved.maximumParallelInvocationsPerClient, true);
  positive("maximumQueuedInvocationsPerClient", resolved.maximumQueuedInvocationsPerClient, true);
  positive("maximumQueuedInvocationBytesPerClient", resolved.maximumQueuedInvocationBytesPerClient, true);
  positive("maximumUploadStreamsPerClient", resolved.maximumUploadStreamsPerClient, true);
  positive("maximumStreamsPerClient", resolved.maximumStreamsPerClient, true);
  positive("maximumGroupsPerConnection", resolved.maximumGroupsPerConnection, true);
  positive("keepAliveInterval", resolved.keepAliveInterval);
  positive("clientTimeoutInterval", resolved.clientTimeoutInterval);
  positive("handshakeTimeout", resolved.handshakeTimeout);
  positive("clientResultTimeout", resolved.clientResultTimeout);
  positive("streamBufferCapacity", resolved.streamBufferCapacity, true);
  positive("disconnectTimeout", resolved.disconnectTimeout);
  positive("pollTimeout", resolved.pollTimeout);
  positive("maximumNegotiatedConnections", resolved.maximumNegotiatedConnections, true);
  positive("maximumSendBufferSize", resolved.maximumSendBufferSize, true);
  positive("statefulReconnectBufferSize", resolved.statefulReconnectBufferSize, true);
  if (resolved.maximumReceiveMessageSize !== null) positive("maximumReceiveMessageSize", resolved.maximumReceiveMessageSize, true);
  if (resolved.maximumConnectionsPerUser !== null) positive("maximumConnectionsPerUser", resolved.maximumConnectionsPerUser, true);
  if (resolved.maximumInvocationsPerSecondPerClient !== null) positive("maximumInvocationsPerSecondPerClient", resolved.maximumInvocationsPerSecondPerClient);
  positive("invocationBurstPerClient", resolved.invocationBurstPerClient, true);
  if (resolved.maximumAuthenticationExpiration !== null) positive("maximumAuthenticationExpiration", resolved.maximumAuthenticationExpiration);
  // Keep the transport order canonical: it is the fallback order clients walk.
  resolved.transports = available.transports.filter((t) => resolved.transports.includes(t));
  return resolved;
}

const filterMethods = ["invokeMethod", "onConnected", "onDisconnected", "onAuthenticationRefreshed"] as const;

/** The filters of one options object, each an object with at least one filter method. */
function checked(filters: unknown): HubFilter[] {
  if (filters === undefined) return [];
  if (!Array.isArray(filters)) invalid("filters must be an array");
  filters.forEach((filter: unknown, i) => {
    const candidate = filter as Record<string, unknown> | null;
    if (typeof candidate !== "object" || candidate === null || !filterMethods.some((m) => typeof candidate[m] === "function")) {
      invalid(`filters[${i}] must be an object with invokeMethod, onConnected, onDisconnected or onAuthenticationRefreshed`);
    }
    for (const m of filterMethods) {
      if (candidate[m] !== undefined && typeof candidate[m] !== "function") invalid(`filters[${i}].${m} must be a function`);
    }
  });
  return filters as HubFilter[];
}

function positive(name: string, value: number, integer = false): void {
  if (!(typeof value === "number" && value > 0 && (!integer || Number.isInteger(value)))) {
    invalid(`${name} must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`);
  }
}

function invalid(message: string): never {
  throw new HubwireError("ERR_INVALID_OPTION", `Invalid hub option ${message}.`);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
