/** Codes of the errors hubwire's client raises; texts match the official client's where it has one. */
export type ClientErrorCode =
  | "ERR_NEGOTIATE"
  | "ERR_HANDSHAKE"
  | "ERR_CLOSED_BY_SERVER"
  | "ERR_SERVER_TIMEOUT"
  | "ERR_CONNECTION_LOST"
  | "ERR_NOT_CONNECTED"
  | "ERR_BUFFER_FULL"
  | "ERR_NO_TRANSPORT"
  | "ERR_CANCELED"
  | "ERR_UNAUTHORIZED"
  | "ERR_REFRESH"
  | "ERR_HUB"
  | "ERR_MUX_REFUSED"
  | "ERR_MUX_PROTOCOL"
  | "ERR_MUX_FORMAT";

export class HubClientError extends Error {
  override name = "HubClientError";
  /** The HTTP status that caused it, when one did (401 or 403 with `ERR_UNAUTHORIZED`). */
  readonly statusCode: number | undefined;
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    statusCode?: number,
  ) {
    super(message);
    this.statusCode = statusCode;
  }
}

/**
 * An HTTP answer other than the one expected; the message is the official client's:
 * `<text>: Status code '<n>'` (and, like its HttpError, it prints as a plain `Error`).
 */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(`${message}: Status code '${statusCode}'`);
  }
}

/**
 * What a hub method threw, as the server reported it: `message` is the Completion's error text,
 * as the official client has it; `hubMessage` is the text of the hub's `HubException` alone,
 * without the server's wrapper, ready to show a person.
 *
 * @example
 * try { await connection.invoke("Send", room, text); }
 * catch (error) { if (error instanceof HubError && error.hubMessage) alert(error.hubMessage); }
 */
export class HubError extends HubClientError {
  override name = "HubError";
  /** The `HubException` text when the hub threw one (`"Empty message"`), else undefined. */
  readonly hubMessage: string | undefined;
  constructor(message: string) {
    super("ERR_HUB", message);
    this.hubMessage = hubExceptionText.exec(message)?.[1];
  }
}

// The server's wrappers around a HubException's text (ASP.NET Core's, which hubwire's server
// writes too): a call that threw, and a stream that failed.
const hubExceptionText = /^(?:An unexpected error occurred invoking '[^']*' on the server\.|An error occurred on the server while streaming results\.) HubException: ([\s\S]*)$/;

/** 401 or 403: the server refused the credentials. Trying again with the same ones cannot help. */
export function isRefusal(statusCode: number | undefined): statusCode is 401 | 403 {
  return statusCode === 401 || statusCode === 403;
}

/**
 * A reattaching socket's failure that says the server no longer holds the connection (404: it
 * let the connection go): no later attempt can resume it. A hubwire server says so in band (the
 * socket opens and closes with code 4404), which a browser can read; from another server only
 * Node's WebSocket shows the status, and in a browser every attempt of the schedule is made.
 */
export function resumeRefused(error: unknown): boolean {
  return error instanceof HttpError && error.statusCode === 404;
}

/** What a call or send in flight fails with when its connection ends (`cause`: why, if known). */
export function connectionLost(cause?: Error): HubClientError {
  return new HubClientError("ERR_CONNECTION_LOST", cause ? `${messages.connectionClosed} ${cause.message}` : messages.connectionClosed);
}

const finalErrors = new WeakSet<Error>();

/**
 * Marks `error` as one after which no attempt to connect can help: the server closed the
 * connection and did not allow a reconnect, or a shared connection's retry policy gave up.
 * A retry loop that meets it gives up too.
 */
export function markFinal<E extends Error>(error: E): E {
  finalErrors.add(error);
  return error;
}

/** See markFinal; a refusal of the credentials (ERR_UNAUTHORIZED) is final too. */
export function isFinal(error: Error | undefined): boolean {
  if (error === undefined) return false;
  return finalErrors.has(error) || (error instanceof HubClientError && error.code === "ERR_UNAUTHORIZED");
}

/** stop() came before the connection was made: start() rejects with this. */
export function stoppedBeforeConnected(): HubClientError {
  return new HubClientError("ERR_CANCELED", "The connection was stopped before the hub handshake could complete.");
}

export const messages = {
  connectionClosed: "Invocation canceled due to the underlying connection being closed.",
  notConnected: "Cannot send data if the connection is not in the 'Connected' State.",
  serverTimeout: "Server timeout elapsed without receiving a message from the server.",
  handshakeError: (error: string) => `Server returned handshake error: ${error}`,
  closeError: (error: string) => `Server returned an error on close: ${error}`,
  negotiateFailed: (error: unknown) => `Failed to complete negotiation with the server: ${String(error)}`,
  noResult: "Client didn't provide a result.",
} as const;
