import { ProtocolError } from "./protocol-error.js";
import { RECORD_SEPARATOR, RECORD_SEPARATOR_CODE } from "./text-framing.js";
import { decodeUtf8 } from "./utf8.js";

/** What the client asks for in its first message. */
export interface HandshakeRequest {
  protocol: string;
  version: number;
  /** Bytes that followed the handshake in the same payload: the first protocol messages. */
  remaining?: string | Uint8Array;
}

/**
 * Reads `{"protocol":"json","version":1}` + RS. The handshake is JSON whatever the protocol, and it
 * may arrive in a text or a binary frame; whatever follows the separator is returned untouched.
 */
export function parseHandshakeRequest(input: string | Uint8Array): HandshakeRequest {
  const { json, remaining } = splitFirstRecord(input);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw invalid(`The handshake is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("The handshake must be a JSON object.");
  }
  const { protocol, version } = value as Record<string, unknown>;
  if (typeof protocol !== "string") throw invalid("Missing or invalid 'protocol' property in the handshake.");
  // A 32-bit integer, as .NET reads it.
  if (typeof version !== "number" || (version | 0) !== version) {
    throw invalid("Missing or invalid 'version' property in the handshake.");
  }
  return remaining === undefined ? { protocol, version } : { protocol, version, remaining };
}

const successResponse = `{}${RECORD_SEPARATOR}`;

/** `{}` + RS on success (exactly, as .NET writes it), `{"error":"…"}` + RS on failure. */
export function writeHandshakeResponse(error?: string): string {
  return error === undefined ? successResponse : JSON.stringify({ error }) + RECORD_SEPARATOR;
}

/** The first RS-terminated record as text, and whatever follows it, untouched (text or bytes). */
function splitFirstRecord(input: string | Uint8Array): { json: string; remaining?: string | Uint8Array } {
  const end = typeof input === "string" ? input.indexOf(RECORD_SEPARATOR) : input.indexOf(RECORD_SEPARATOR_CODE);
  if (end < 0) throw incomplete();
  const json = typeof input === "string" ? input.slice(0, end) : decodeUtf8(input.subarray(0, end));
  if (end + 1 >= input.length) return { json };
  return { json, remaining: typeof input === "string" ? input.slice(end + 1) : input.subarray(end + 1) };
}

function incomplete(): ProtocolError {
  return new ProtocolError("ERR_HANDSHAKE_INVALID", "The handshake message is incomplete.");
}

function invalid(message: string): ProtocolError {
  return new ProtocolError("ERR_HANDSHAKE_INVALID", message);
}

/** The client's first message: `{"protocol":"json","version":1}` + RS. */
export function writeHandshakeRequest(protocol: string, version: number): string {
  return JSON.stringify({ protocol, version }) + RECORD_SEPARATOR;
}

export interface HandshakeResponse {
  /** Set when the server refused the handshake. */
  error?: string;
  /** What followed the response in the same payload: the first hub messages. */
  remaining?: string | Uint8Array;
}

/** Reads the server's `{}` + RS (or `{"error":"…"}` + RS) from text or bytes. */
export function parseHandshakeResponse(input: string | Uint8Array): HandshakeResponse {
  const { json, remaining } = splitFirstRecord(input);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw invalid(`The handshake response is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || "type" in value) {
    throw invalid("Expected a handshake response from the server.");
  }
  const { error } = value as { error?: unknown };
  return {
    ...(typeof error === "string" ? { error } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
  };
}
