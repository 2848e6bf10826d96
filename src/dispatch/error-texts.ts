import { errorParts, textOf } from "../protocol/thrown-value.js";

/**
 * The error texts clients see, word for word as ASP.NET Core SignalR sends them (the official
 * client's tests assert several of them). `detail` is ` <ErrorName>: <message>` or "".
 */
export const errorTexts = {
  // Since ASP.NET Core 3.0 an unknown target fails argument binding, before any method lookup.
  unknownMethod: (target: string) => `Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`,
  bindingFailed: (target: string, detail: string) => `Failed to invoke '${target}' due to an error on the server.${detail}`,
  argumentCount: (given: number, expected: number) =>
    `Invocation provides ${given} argument(s) but target expects ${expected}.`,
  methodThrew: (target: string, detail: string) => `An unexpected error occurred invoking '${target}' on the server.${detail}`,
  unauthorized: (target: string) => `Failed to invoke '${target}' because user is unauthorized`,
  streamingWithInvoke: (target: string) =>
    `The client attempted to invoke the streaming '${target}' method with a non-streaming invocation.`,
  nonStreamingWithStream: (target: string) =>
    `The client attempted to invoke the non-streaming '${target}' method with a streaming invocation.`,
  streamCountMismatch: (sent: number, expected: number) => `Client sent ${sent} stream(s), Hub method expects ${expected}.`,
  streamFailed: (detail: string) => `An error occurred on the server while streaming results.${detail}`,
  notAStream: (target: string) =>
    `The value returned by the streaming method '${target}' is not a ChannelReader<> or IAsyncEnumerable<>.`,
  invocationIdInUse: (id: string) => `Invocation ID '${id}' is already in use.`,
  connectionClosedWithError: (detail: string) => `Connection closed with an error.${detail}`,
  handshakeCanceled: "Handshake was canceled.",
  handshakeFailed: (detail: string) => `An unexpected error occurred during connection handshake.${detail}`,
  tooManyUserConnections: "Too many connections for this user.",
  protocolNotSupported: (name: string) => `The protocol '${name}' is not supported.`,
  versionNotSupported: (version: number, name: string) =>
    `The server does not support version ${version} of the '${name}' protocol.`,
  transferFormatNotSupported: (name: string, format: string) =>
    `Cannot use the '${name}' protocol on the current transport. The transport does not support '${format}' transfer format.`,
  clientTimeout: (ms: number) => `Client timeout (${ms}ms) elapsed without receiving a message from the client.`,
} as const;

/** ` <name>: <message>` for an error, as appended to texts when details may be shown; any thrown value will do. */
export function errorDetail(error: unknown): string {
  const parts = errorParts(error);
  return parts ? ` ${parts[0]}: ${parts[1]}` : ` Error: ${textOf(error)}`;
}

/** Whether a thrown value is a HubException, whose text always reaches the client. */
export function isHubException(error: unknown): boolean {
  return errorParts(error)?.[0] === "HubException";
}

/** The detail a client may see: always for a HubException, else only with detailed errors. Never throws. */
export function detailFor(error: unknown, detailedErrors: boolean): string {
  return detailedErrors || isHubException(error) ? errorDetail(error) : "";
}
