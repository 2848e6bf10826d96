import { lengthPrefixSize, writeLengthPrefix } from "./binary-framing.js";
import { allocBytes } from "./byte-pool.js";
import type { CompletionMessage } from "./messages.js";
import { asciiStringSize, plainValueSize, writeAsciiString, writePlainValue } from "./messagepack-plain-values.js";

/**
 * Writes the record most replies are, a Completion without headers whose result (or error) is
 * nil, a boolean, a number or a short ASCII string, framed, byte for byte as the general encoder
 * writes it: `[3, {}, id, kind, value]`. The general encoder walks an array built for the purpose
 * into its own buffer, which is then copied behind the length prefix; here the record is sized
 * first and written once.
 *
 * Returns undefined for anything else (another value, a long or non-ASCII string), which the
 * general encoder writes.
 */
export function writePlainCompletion(message: CompletionMessage): Uint8Array | undefined {
  const { invocationId } = message;
  const idSize = asciiStringSize(invocationId);
  if (idSize < 0) return undefined;
  let kind: number;
  let value: unknown;
  if (message.error !== undefined) {
    kind = ERROR_RESULT;
    value = message.error;
  } else if (message.hasResult) {
    kind = NON_VOID_RESULT;
    value = message.result ?? null;
  } else {
    kind = VOID_RESULT;
  }
  const valueSize = kind === VOID_RESULT ? 0 : plainValueSize(value);
  if (valueSize < 0) return undefined;

  const bodySize = 3 + idSize + 1 + valueSize; // array head, type, headers, id, kind, value
  const prefixSize = lengthPrefixSize(bodySize);
  const record = allocBytes(prefixSize + bodySize);
  let at = writeLengthPrefix(record, 0, bodySize);
  record[at++] = kind === VOID_RESULT ? 0x94 : 0x95;
  record[at++] = 3; // Completion
  record[at++] = 0x80; // no headers: an empty map, as .NET writes them
  at = writeAsciiString(record, at, invocationId);
  if (at < 0) return undefined;
  record[at++] = kind;
  if (kind !== VOID_RESULT && writePlainValue(record, at, value) < 0) return undefined;
  return record;
}

/** Completion kinds: what follows the invocation id. */
export const ERROR_RESULT = 1;
export const VOID_RESULT = 2;
export const NON_VOID_RESULT = 3;
