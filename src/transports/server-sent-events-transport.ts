import type { ServerResponse } from "node:http";
import { HubwireError } from "../errors.js";
import type { Transport } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";

const textDecoder = new TextDecoder();

export const serverSentEventsHeaders = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache,no-store",
  Pragma: "no-cache",
  "Content-Encoding": "identity",
  // Proxies such as nginx buffer responses unless told not to; events must flow as written.
  "X-Accel-Buffering": "no",
} as const;

/**
 * Server-to-client half of the Server-Sent Events transport: one long GET response in which every
 * send is one event. Client-to-server data comes by POST, which the endpoint hands to the
 * connection directly. Text only: negotiate never offers Binary on this transport.
 */
export class ServerSentEventsTransport implements Transport {
  readonly name = "ServerSentEvents" as const;
  private ended = false;

  constructor(
    private readonly response: ServerResponse,
    connection: TransportConnection,
  ) {
    response.on("close", () => {
      // Our own end() closes the response too; anything else is the client going away, which
      // is how the official client stops an SSE connection (it sends no DELETE, no Close).
      connection.transportClosed();
    });
    response.on("error", () => {}); // reported through "close"
    response.on("drain", () => connection.drained());
    response.writeHead(200, serverSentEventsHeaders);
    response.flushHeaders();
    // Some EventSource implementations only fire `open` once they see bytes.
    response.write(":\r\n");
    response.socket?.setNoDelay(true);
  }

  get bufferedBytes(): number {
    return this.response.writableLength;
  }

  send(data: string | Uint8Array): void {
    if (this.ended || this.response.destroyed) return;
    this.response.write(formatEvent(typeof data === "string" ? data : textDecoder.decode(data)));
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.response.end();
  }

  abort(): void {
    this.ended = true;
    this.response.destroy(new HubwireError("ERR_TRANSPORT_LOST", "The Server-Sent Events stream was dropped."));
  }
}

/**
 * One event: every line of the payload as `data: <line>\r\n`, then an empty line. The client
 * joins the lines with "\n", so a payload holding newlines arrives intact.
 */
export function formatEvent(payload: string): string {
  if (payload.indexOf("\n") === -1) return `data: ${payload}\r\n\r\n`;
  let event = "";
  for (let line of payload.split("\n")) {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    event += `data: ${line}\r\n`;
  }
  return event + "\r\n";
}
