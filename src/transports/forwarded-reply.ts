import { Buffer } from "node:buffer";
import type { OutgoingHttpHeaders } from "node:http";
import type { HttpReply } from "./http-replies.js";

/** The response a forwarded request got, as the server holding its connection wrote it. */
export interface ForwardedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Uint8Array;
}

/**
 * The answer to a request another server forwarded: the endpoint writes it as it writes a
 * ServerResponse, and once it ends, `onEnd` sends it back. A pending long poll whose client went
 * away on the other server is `abandon`ed, which closes it as a dropped socket would.
 */
export class ForwardedReply implements HttpReply {
  headersSent = false;
  destroyed = false;
  private status = 200;
  private headers: OutgoingHttpHeaders = {};
  private closeListeners: Array<() => void> | undefined;

  constructor(private readonly onEnd: (response: ForwardedResponse) => void) {}

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  end(body?: string | Uint8Array): this {
    if (this.destroyed) return this;
    this.headersSent = true;
    this.destroyed = true; // nothing more can be written
    const bytes = body === undefined ? new Uint8Array(0) : typeof body === "string" ? Buffer.from(body) : body;
    this.onEnd({ status: this.status, headers: this.headers, body: bytes });
    this.emitClose();
    return this;
  }

  on(_event: "close", listener: () => void): this {
    (this.closeListeners ??= []).push(listener);
    return this;
  }

  /** The client is gone: the answer goes nowhere. */
  abandon(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emitClose();
  }

  private emitClose(): void {
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}
