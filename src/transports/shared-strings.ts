/**
 * One copy of the strings that many connections' requests repeat (the Host header, the path,
 * the peer's address): each request brings its own copy of them, which a connection kept for
 * hours would otherwise hold, some 100 bytes per idle connection. Bounded: past `limit`
 * distinct strings, new ones are returned as they are, so a client sending a different value
 * each time fills it once and no more.
 */
const shared = new Map<string, string>();
const limit = 1024;
/** Longer strings are rarely repeated (tokens, cookies): not worth a look-up. */
const longest = 256;

/** The one kept copy of `value` (or `value` itself, when it is not worth keeping or the table is full). */
export function sharedString(value: string): string;
export function sharedString(value: string | undefined): string | undefined;
export function sharedString(value: string | undefined): string | undefined {
  if (value === undefined || value.length > longest) return value;
  const kept = shared.get(value);
  if (kept !== undefined) return kept;
  if (shared.size < limit) shared.set(value, value);
  return value;
}
