import { HttpError } from "../errors.js";
import { send, withQuery } from "../http.js";
import { isNode } from "./environment.js";
import { PostQueue } from "./post-queue.js";
import type { ClientTransport, TransferFormat, TransportContext } from "./transport.js";

type EventSourceLike = {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(): void;
};
type EventSourceConstructor = new (url: string, init?: { withCredentials: boolean }) => EventSourceLike;

/**
 * Server-Sent Events down, POST up; text only. Browsers use EventSource; elsewhere a small
 * reader over fetch does the same (Node 20 has no EventSource).
 */
export class ServerSentEventsTransport implements ClientTransport {
  readonly kind = "ServerSentEvents" as const;
  private url = "";
  private source: EventSourceLike | undefined;
  private abort: AbortController | undefined;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private stopped = false;
  private closed = false;

  private readonly posts = new PostQueue((body) => send(this.context.http, { method: "POST", url: this.url, body }).then(() => undefined));

  constructor(private readonly context: TransportContext) {}

  async connect(url: string, format: TransferFormat): Promise<void> {
    if (format === "Binary") throw new Error("'ServerSentEvents' does not support Binary.");
    this.url = url;
    const token = await this.context.http.token();
    // Stopped while the token came (a stop() during start()): no stream may outlive the stop.
    if (this.stopped) throw new Error("Server-Sent Events were stopped before they connected.");
    const target = token ? withQuery(url, "access_token", token) : url;
    const Native = (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (Native) return this.openEventSource(new Native(target, { withCredentials: this.context.http.withCredentials }));
    // The fetch reader stands in for EventSource on Node only; a browser without EventSource
    // (or with it disabled) should fall back to long polling, as the official client does.
    if (!isNode()) throw new Error("'ServerSentEvents' is not supported in your environment.");
    return this.openFetchStream(target);
  }

  private openEventSource(source: EventSourceLike): Promise<void> {
    this.source = source;
    return new Promise((resolve, reject) => {
      let open = false;
      source.onopen = () => {
        open = true;
        resolve();
      };
      source.onmessage = (event) => this.context.events.onData(event.data);
      source.onerror = () => {
        source.close();
        if (!open) return reject(new Error("EventSource failed to connect."));
        this.ended(new Error("Error occurred while receiving Server-Sent Events."));
      };
    });
  }

  private async openFetchStream(url: string): Promise<void> {
    this.abort = new AbortController();
    const response = await fetch(url, {
      headers: { Accept: "text/event-stream", "Cache-Control": "no-cache", ...this.context.http.headers },
      signal: this.abort.signal,
    });
    if (response.status !== 200 || !response.body) throw new HttpError("Server-Sent Events request failed", response.status);
    this.reader = response.body.getReader();
    void this.readEvents(this.reader);
  }

  private async readEvents(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
          const data = event
            .split(/\r?\n/)
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
          if (data.length > 0) this.context.events.onData(data.join("\n"));
        }
      }
      this.ended();
    } catch (error) {
      this.ended(this.stopped ? undefined : (error as Error));
    }
  }

  /** One POST at a time, in order (see PostQueue). */
  send(data: string | Uint8Array): Promise<void> {
    return this.posts.send(data);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.source?.close();
    // Node's fetch can leave a pending read hanging after an abort: cancel the reader too, and
    // report the end here rather than wait for the read loop.
    this.reader?.cancel().catch(() => {}); // fails when the abort below got there first: nothing to report
    this.abort?.abort();
    this.ended();
  }

  private ended(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.context.events.onClose(this.stopped ? undefined : error);
  }
}

