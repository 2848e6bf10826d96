/**
 * A refused WebSocket upgrade heard in band (a hubwire extension; docs/multiplexing.md).
 *
 * A browser's WebSocket hides why an upgrade failed: the 404 of a server that let a connection
 * go looks like any network failure, so a client resuming a stateful connection would go on
 * trying until its schedule ends. A client that adds `refusal=close` to the upgrade's URL is
 * told in band instead: the server completes the upgrade and closes the socket at once with
 * code 4000 + the HTTP status (4404) and the answer's text as the reason. Only 404 goes so, the
 * one refusal that ends a resume: the others (409 while the server has not yet seen the old
 * socket drop, 401...) stay HTTP answers, one failed attempt of the client's schedule each.
 * ASP.NET Core ignores the parameter and answers 404 as ever.
 */

export const inBandRefusalParameter = "refusal";
export const inBandRefusalValue = "close";

/** The close code that carries an HTTP error status (400 to 599): application codes start at 4000. */
export function refusalCloseCode(status: number): number {
  return 4000 + status;
}

/** The HTTP status a close code carries, if it is a refusal's. */
export function refusalStatus(closeCode: number): number | undefined {
  return closeCode >= 4400 && closeCode < 4600 ? closeCode - 4000 : undefined;
}

/** A close frame's reason holds at most 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const encoded = new TextEncoder().encode(text);
  if (encoded.length <= 123) return text;
  // Cut at a character's start, so no half character is left.
  let end = 123;
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(encoded.subarray(0, end));
}
