/** Codes of the faults a protocol parser reports; each closes the offending connection. */
export type ProtocolErrorCode =
  | "ERR_PROTOCOL_INCOMPLETE"
  | "ERR_PROTOCOL_INVALID_PAYLOAD"
  | "ERR_PROTOCOL_MESSAGE_TOO_LARGE"
  | "ERR_PROTOCOL_WRONG_INPUT_TYPE"
  | "ERR_HANDSHAKE_INVALID";

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
