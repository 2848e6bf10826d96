import { HubException, HubwireError, LimitExceededError, type ErrorCode } from "../errors.js";
import type { BackplaneMessage } from "./backplane-messages.js";

// Errors that cross the backplane: a client result or group change that failed on the server
// holding the connection fails the same way on the server that asked for it.

/** A client result whose holder went away (no heartbeat for serverTimeout, or it closed). */
export function serverGone(): Error {
  return new HubwireError("ERR_SERVER_GONE", "The server holding the connection is gone; its client result will not come.");
}

/** The reply that fails the asking server's request `requestId` with `error`, as it was here. */
export function failureReply(requestId: number, error: unknown): BackplaneMessage {
  const { name, message, code } = error as { name?: string; message?: string; code?: string };
  return { kind: "failure", requestId, name: name ?? "Error", message: message ?? String(error), code };
}

/** The error a client result failed with on the server that holds the connection, as it was there. */
export function remoteError(name: string, message: string, code: string | undefined): Error {
  if (name === "HubException") return code !== undefined ? new LimitExceededError(code as ErrorCode, message) : new HubException(message);
  if (code !== undefined) return new HubwireError(code as ErrorCode, message);
  return new Error(message);
}
