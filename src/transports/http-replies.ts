import { Buffer } from "node:buffer";
import type { OutgoingHttpHeaders } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

/**
 * What the endpoint writes a connection's request's answer to: a ServerResponse, or the answer to
 * a request another server forwarded (see ForwardedReply).
 */
export interface HttpReply {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(body?: string | Uint8Array): unknown;
  /** The request ended, answered or not (its client may have gone). */
  on(event: "close", listener: () => void): unknown;
}

/** Answers a plain HTTP request with a status and a text/plain body (possibly empty). */
export function replyText(res: HttpReply, status: number, body = "", headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...headers,
    ...(body ? { "Content-Type": "text/plain" } : {}),
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answers a JSON body, with status 200 unless told. */
export function replyJson(res: HttpReply, body: string, headers: Record<string, string> = {}, status = 200): void {
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Answers the first long poll: 200, empty, at once. */
export function replyPollStarted(res: HttpReply): void {
  res.writeHead(200, {
    "Content-Type": "application/octet-stream",
    "Content-Length": 0,
    "Cache-Control": "no-cache, no-store",
    Pragma: "no-cache",
    Expires: "Thu, 01 Jan 1970 00:00:00 GMT",
  });
  res.end();
}

/** Refuses a WebSocket upgrade with a plain HTTP response, then drops the socket. */
export function rejectUpgrade(socket: Duplex, status: number, body = ""): void {
  if (socket.destroyed) return;
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
    "Connection: close\r\n" +
    (body ? "Content-Type: text/plain\r\n" : "") +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  socket.end(head + body);
}
