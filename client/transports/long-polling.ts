import { asError, errorParts } from "../../src/protocol/thrown-value.js";
import { HttpError } from "../errors.js";
import { send, withQuery } from "../http.js";
import { PostQueue } from "./post-queue.js";
import type { ClientTransport, TransferFormat, TransportContext } from "./transport.js";

/** The client's own limit on a poll, past the server's 90 s hold. */
const pollTimeoutMs = 100_000;

/** Long polling: GETs held by the server bring data down, POSTs take it up, DELETE ends it. */
export class LongPollingTransport implements ClientTransport {
  readonly kind = "LongPolling" as const;
  private url = "";
  private binary = false;
  private running = false;
  private readonly abort = new AbortController();

  private readonly posts = new PostQueue((body) => send(this.context.http, { method: "POST", url: this.url, body }).then(() => undefined));

  constructor(private readonly context: TransportContext) {}

  async connect(url: string, format: TransferFormat): Promise<void> {
    this.url = url;
    this.binary = format === "Binary";
    // The first poll answers at once: it says the connection is up.
    const first = await send(this.context.http, { method: "GET", url: withQuery(url, "_", String(Date.now())), signal: this.abort.signal, binary: this.binary });
    if (first.status !== 200) throw new HttpError("Unexpected first poll answer", first.status);
    this.running = true;
    void this.poll();
  }

  private async poll(): Promise<void> {
    let error: Error | undefined;
    // One refresh per refusal: a poll refused again right after it fails, as the official client's does.
    let refreshed = false;
    while (this.running) {
      try {
        const response = await send(this.context.http, {
          method: "GET",
          url: withQuery(this.url, "_", String(Date.now())),
          signal: this.abort.signal,
          binary: this.binary,
          timeoutMs: pollTimeoutMs,
        });
        if (response.status === 204) break; // the server ended the connection
        refreshed = false;
        const body = response.body;
        if (typeof body === "string" ? body.length > 0 : body.byteLength > 0) this.context.events.onData(body);
      } catch (failure) {
        if (!this.running) break;
        // Read safely: an accessTokenFactory may throw anything, undefined included.
        if (errorParts(failure)?.[0] === "TimeoutError") continue; // our own poll limit: poll again
        const { events } = this.context;
        if (!refreshed && events.refreshAuthentication && asksForRefresh(failure)) {
          refreshed = true;
          // Poll again once the connection's authentication is fresh; a failed refresh ends the connection.
          error = await events.refreshAuthentication().then(() => undefined, asError);
          if (error === undefined) continue;
          break;
        }
        error = asError(failure);
        break;
      }
    }
    this.running = false;
    this.context.events.onClose(error);
  }

  /** One POST at a time, in order (see PostQueue). */
  send(data: string | Uint8Array): Promise<void> {
    return this.posts.send(data);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    // The server answers 202 and releases the poll; a 404 means it is already gone. A failure
    // reaches the connection, which notes it: the server lets an abandoned poll go by itself.
    if (!this.url) return;
    try {
      await send(this.context.http, { method: "DELETE", url: this.url });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
}

/** SignalR 11's answer to a poll that must wait for a fresh authentication: 409 `{"error":"authentication_refresh_required"}`. */
function asksForRefresh(failure: unknown): boolean {
  return failure instanceof HttpError && failure.statusCode === 409 && /"error"\s*:\s*"authentication_refresh_required"/.test(failure.message);
}
