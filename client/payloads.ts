/**
 * How much one message of a shared connection's outbox, or one POST joining several sends,
 * holds at most (characters for text, bytes for binary): under the smallest message a hubwire
 * server reads whole (1 MiB) even at three bytes a character.
 */
export const maxMessageSize = 256 * 1024;

/** Payloads sent as one: text when all are text; else bytes (text as its UTF-8, a MessagePack connection's handshake). */
export function joinPayloads(parts: ReadonlyArray<string | Uint8Array>): string | Uint8Array {
  if (parts.length === 1) return parts[0]!;
  if (parts.every((part) => typeof part === "string")) return parts.join("");
  const encoder = new TextEncoder();
  const bytes = parts.map((part) => (typeof part === "string" ? encoder.encode(part) : part));
  const joined = new Uint8Array(bytes.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of bytes) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}
