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
  | "ERR_HUB";

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

/** What a hub method threw, as the server reported it (the Completion's error text). */
export class HubError extends HubClientError {
  override name = "HubError";
  constructor(message: string) {
    super("ERR_HUB", message);
  }
}

/** 401 or 403: the server refused the credentials. Trying again with the same ones cannot help. */
export function isRefusal(statusCode: number | undefined): statusCode is 401 | 403 {
  return statusCode === 401 || statusCode === 403;
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
