/**
 * Errors hubwire throws at its users. Every one carries a stable `code`; docs/errors.md lists them
 * all (a test keeps that table and this list in step).
 */
export const ErrorCodes = {
  /** A class given to mapHub lacks the @HubClass() decorator. */
  ERR_HUB_NOT_DECORATED: "ERR_HUB_NOT_DECORATED",
  /** Two hub methods share a wire name (names are compared case-insensitively). */
  ERR_HUB_DUPLICATE_METHOD: "ERR_HUB_DUPLICATE_METHOD",
  /** @HubMethod() was put on something that is not a method, or on a lifecycle method. */
  ERR_HUB_INVALID_METHOD: "ERR_HUB_INVALID_METHOD",
  /** A hubwire decorator was called as a standard (TC39) decorator: experimentalDecorators is off. */
  ERR_STANDARD_DECORATOR: "ERR_STANDARD_DECORATOR",
  /** A path given to mapHub or mapConnection does not start with "/". */
  ERR_INVALID_PATH: "ERR_INVALID_PATH",
  /** A hub class does not extend Hub. */
  ERR_HUB_NOT_A_HUB: "ERR_HUB_NOT_A_HUB",
  /** @Authorize names a policy the server has no function for. */
  ERR_UNKNOWN_POLICY: "ERR_UNKNOWN_POLICY",
  /** Two endpoints were mapped on the same path (paths are compared case-insensitively). */
  ERR_PATH_IN_USE: "ERR_PATH_IN_USE",
  /** An option has a value outside its range. */
  ERR_INVALID_OPTION: "ERR_INVALID_OPTION",
  /** The server was closed; it accepts no new work. */
  ERR_SERVER_CLOSED: "ERR_SERVER_CLOSED",
  /** A hub context was asked for a hub that was never mapped. */
  ERR_HUB_NOT_MAPPED: "ERR_HUB_NOT_MAPPED",
  /** A client stopped reading and the connection's unsent data passed `maximumSendBufferSize`. */
  ERR_SEND_BUFFER_FULL: "ERR_SEND_BUFFER_FULL",
  /** A client vanished: its socket closed abnormally, or it stopped polling for the disconnect timeout. */
  ERR_TRANSPORT_LOST: "ERR_TRANSPORT_LOST",
  /** A stateful connection waiting for its client was sent more than `statefulReconnectBufferSize` holds: it cannot resume, and ends. */
  ERR_STATEFUL_BUFFER_FULL: "ERR_STATEFUL_BUFFER_FULL",
  /** The code generator cannot read a hub (a missing file, an unnamed class, an unexported type). */
  ERR_CODEGEN_INPUT: "ERR_CODEGEN_INPUT",
  /** A file given to the code generator declares no hub (no `@HubClass()`). */
  ERR_CODEGEN_NO_HUBS: "ERR_CODEGEN_NO_HUBS",
  /** A hub method's name in a generated client would clash with another member, and its wire name cannot stand in. */
  ERR_CODEGEN_NAME_CLASH: "ERR_CODEGEN_NAME_CLASH",
  /** `hubwire codegen --check` found generated files that differ from what the hubs produce. */
  ERR_CODEGEN_STALE: "ERR_CODEGEN_STALE",
  /** A client result did not arrive within its timeout. */
  ERR_CLIENT_RESULT_TIMEOUT: "ERR_CLIENT_RESULT_TIMEOUT",
  /** A client result was asked of a connection that does not exist (or not in this process). */
  ERR_CONNECTION_NOT_FOUND: "ERR_CONNECTION_NOT_FOUND",
  /** The connection ended while a client result was awaited. */
  ERR_CONNECTION_CLOSED: "ERR_CONNECTION_CLOSED",
  /** HubContext.connections was used on a hub whose lifetime manager cannot close connections (AspNetCoreRedisBackplane's, or a custom one without closeConnections). */
  ERR_CLOSE_NOT_SUPPORTED: "ERR_CLOSE_NOT_SUPPORTED",
  /** ConnectionManager.ofUser or ofGroup, GroupManager.addUserToGroup or removeUserFromGroup was used on a hub whose lifetime manager cannot find a user's or a group's connections (AspNetCoreRedisBackplane's, or a custom one without connectionsOf). */
  ERR_CONNECTION_LOOKUP_NOT_SUPPORTED: "ERR_CONNECTION_LOOKUP_NOT_SUPPORTED",
  /** The scale-out backplane (Redis) could not be reached for an operation that needs another server. */
  ERR_BACKPLANE_UNAVAILABLE: "ERR_BACKPLANE_UNAVAILABLE",
  /** No server answered a group change for a connection on another server in time. */
  ERR_BACKPLANE_TIMEOUT: "ERR_BACKPLANE_TIMEOUT",
  /** The server holding a connection stopped announcing itself (it died or lost the backplane) while its client result was awaited. */
  ERR_SERVER_GONE: "ERR_SERVER_GONE",
  /** A connection could not move to the server its client reconnected through; it stays where it was, and the client gets 503. */
  ERR_CONNECTION_MOVE_FAILED: "ERR_CONNECTION_MOVE_FAILED",
  /** A stateful connection of a server that died could not be taken over by its standby (recovery's bounds, or no checkpoint yet): logged; its client starts a new connection. */
  ERR_CONNECTION_NOT_RECOVERED: "ERR_CONNECTION_NOT_RECOVERED",
  /** A client result was awaited from a connection that moved to another server meanwhile. */
  ERR_CONNECTION_MOVED: "ERR_CONNECTION_MOVED",
  /** A raw connection's client sent more in one WebSocket message or POST than the endpoint reads. */
  ERR_REQUEST_TOO_LARGE: "ERR_REQUEST_TOO_LARGE",
  /** A request forwarded to the server that holds its connection got no answer in time (the client gets 504). */
  ERR_FORWARD_TIMEOUT: "ERR_FORWARD_TIMEOUT",
  /** A server already waits on as many forwarded requests (or bytes of forwarded sends) as it allows (the client gets 503). */
  ERR_TOO_MANY_FORWARDS: "ERR_TOO_MANY_FORWARDS",
  /** A ClusterBackplane was made outside a cluster's worker (or one forked without setupPrimary()), or setupPrimary() called in a worker. */
  ERR_CLUSTER_ROLE: "ERR_CLUSTER_ROLE",
  /** An optional part was used without the package it runs on (codegen: typescript6, hubwire/redis: ioredis). */
  ERR_OPTIONAL_DEPENDENCY_MISSING: "ERR_OPTIONAL_DEPENDENCY_MISSING",
  /** A group join would put a connection in more groups than `maximumGroupsPerConnection`. */
  ERR_TOO_MANY_GROUPS: "ERR_TOO_MANY_GROUPS",
  /** A connection was closed because its user's authentication expired (closeOnAuthenticationExpiration). */
  ERR_AUTHENTICATION_EXPIRED: "ERR_AUTHENTICATION_EXPIRED",
  /** A connection was closed because `acceptAuthenticationRefresh` refused a later request's fresh authentication. */
  ERR_AUTHENTICATION_REFRESH_REJECTED: "ERR_AUTHENTICATION_REFRESH_REJECTED",
  /** `authenticate` threw: the request was refused with 401 (the `code` of its log entry). */
  ERR_AUTHENTICATION_FAILED: "ERR_AUTHENTICATION_FAILED",
  /** `userIdProvider` threw: the request was refused with 500 (the `code` of its log entry). */
  ERR_USER_ID_PROVIDER_FAILED: "ERR_USER_ID_PROVIDER_FAILED",
  /** hubwire/testing: a test client's `next` ended without the message it awaited (its timeout passed, or the connection closed). */
  ERR_NOT_RECEIVED: "ERR_NOT_RECEIVED",
  /** A multiplexed connection's client sent a frame that breaks the envelope's rules (docs/multiplexing.md); its connection ends. */
  ERR_MUX_MALFORMED_FRAME: "ERR_MUX_MALFORMED_FRAME",
  /** A multiplexed connection's client sent data on a channel it never opened; its connection ends. */
  ERR_MUX_UNKNOWN_CHANNEL: "ERR_MUX_UNKNOWN_CHANNEL",
  /** A hub was not opened on a multiplexed connection that has `maximumHubsPerConnection` open already. */
  ERR_MUX_TOO_MANY_HUBS: "ERR_MUX_TOO_MANY_HUBS",
  /** A hub was not opened on a multiplexed connection: no hub is mapped at its path, or it does not allow the connection's transport. */
  ERR_MUX_UNKNOWN_HUB: "ERR_MUX_UNKNOWN_HUB",
  /** A hub was not opened on a multiplexed connection: its authentication or authorization refused the user (or threw). */
  ERR_MUX_HUB_REFUSED: "ERR_MUX_HUB_REFUSED",
  /** A hub with a binary protocol (MessagePack) on a multiplexed connection that carries text: its open is refused, or it ends alone. */
  ERR_MUX_FORMAT: "ERR_MUX_FORMAT",
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

export class HubwireError extends Error {
  override name = "HubwireError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An error whose message is meant for the client. Thrown from a hub method, the caller sees
 * `An unexpected error occurred invoking '<Method>' on the server. HubException: <message>`
 * whether detailed errors are on or not; any other error's text stays on the server unless
 * detailed errors are enabled. A client's error answer to a client result, and an upload stream
 * the client ended with an error, arrive as HubExceptions too.
 *
 * @example
 * if (!room) throw new HubException(`No room named ${name}`);
 */
export class HubException extends Error {
  override name = "HubException";
}

/**
 * A per-connection bound was reached (`maximumGroupsPerConnection`, ...). It is a HubException,
 * so a hub method that lets it through fails with its text, which the caller sees; it also
 * carries a `code`, for code that catches it.
 *
 * @example
 * try { await this.groups.addToGroup(this.context.connectionId, room); }
 * catch (error) { if ((error as LimitExceededError).code === "ERR_TOO_MANY_GROUPS") leaveOldest(); else throw error; }
 */
export class LimitExceededError extends HubException {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
