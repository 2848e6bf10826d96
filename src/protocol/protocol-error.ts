/** Codes of the faults a protocol parser reports; each closes the offending connection. */
export type ProtocolErrorCode =
  | "ERR_PROTOCOL_INCOMPLETE"
  | "ERR_PROTOCOL_INVALID_PAYLOAD"
  | "ERR_PROTOCOL_MESSAGE_TOO_LARGE"
  | "ERR_PROTOCOL_WRONG_INPUT_TYPE"
  | "ERR_HANDSHAKE_INVALID";

/** The error for a message larger than `max` bytes, in ASP.NET Core's words (naming hubwire's option). */
export function messageTooLarge(max: number): ProtocolError {
  return new ProtocolError(
    "ERR_PROTOCOL_MESSAGE_TOO_LARGE",
    `The maximum message size of ${max}B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`,
  );
}

/** A malformed, incomplete or oversized message. The text is safe to show a client. */
export class ProtocolError extends Error {
  override readonly name = "InvalidDataException";
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
