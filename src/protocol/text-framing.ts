import { ProtocolError } from "./protocol-error.js";

/** Ends every JSON record, the handshake included (ASCII 0x1E). */
export const RECORD_SEPARATOR = "\u001e";
export const RECORD_SEPARATOR_CODE = 0x1e;

/**
 * Splits a text payload into its records. A payload must end with the separator: a message is never
 * split across frames or bodies, so a missing separator means the sender is broken.
 */
export function splitTextRecords(input: string): string[] {
  // The common case, one record per frame, needs no split.
  const first = firstRecordEnd(input);
  if (first === input.length - 1) return [input.slice(0, -1)];
  const records = input.split(RECORD_SEPARATOR);
  records.pop();
  return records;
}

/**
 * Where the first record of `input[start, end)` ends (its separator); throws when that payload
 * does not end with one.
 */
export function firstRecordEnd(input: string, start = 0, end = input.length): number {
  if (end <= start || input.charCodeAt(end - 1) !== RECORD_SEPARATOR_CODE) {
    throw new ProtocolError("ERR_PROTOCOL_INCOMPLETE", "Message is incomplete.");
  }
  return input.indexOf(RECORD_SEPARATOR, start);
}
