import { Buffer } from "node:buffer";
import type { HttpReply } from "./http-replies.js";
import type { Transport } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";

const pollHeaders = {
  "Content-Type": "application/octet-stream",
  "Cache-Control": "no-cache, no-store",
  Pragma: "no-cache",
  Expires: "Thu, 01 Jan 1970 00:00:00 GMT",
} as const;

const textEncoder = new TextEncoder();

/**
 * Server-to-client half of long polling. Sends are buffered; a poll takes everything buffered at
 * once, or waits for data up to the poll timeout. 204 tells the client the connection is over.
 * Between polls the client is "detached"; the endpoint's sweeper drops it if it stays away.
 */
export class LongPollingTransport implements Transport {
  readonly name = "LongPolling" as const;
  private readonly queue: Array<string | Uint8Array> = [];
  private queuedBytes = 0;
  private poll: HttpReply | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private flushScheduled = false;
  /** close() was called: answer what is queued, then 204. */
  private ending = false;
  private lastDetachedAt: number | undefined = Date.now();
  private finalPollServed = false;

  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly connection: TransportConnection,
    private readonly pollTimeoutMs: number,
    /** How long a closing connection waits for its client's next poll before it is dropped. */
    private readonly closeTimeoutMs: number,
  ) {}

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  get detachedSince(): number | undefined {
    return this.poll ? undefined : this.lastDetachedAt;
  }

  /** After the end, until the client has been told by a 204: the connection must stay findable. */
  get lingering(): boolean {
    return !this.finalPollServed;
  }

  /**
   * Serves a poll: answers at once when data is queued or the connection is over, else holds it.
   * Returns true when this poll was told (204) that the connection is over.
   */
  attachPoll(response: HttpReply): boolean {
    // A newer poll replaces a pending one, which the client no longer waits for.
    if (this.poll) this.answer(204);
    if (this.connection.state === "closed") {
      this.finalPollServed = true;
      endPoll(response, 204);
      return true;
    }
    this.poll = response;
    response.on("close", () => {
      if (this.poll !== response) return;
      // The client aborted its poll (it is stopping, or its own 100 s poll timeout fired).
      this.detach();
    });
    if (this.queue.length > 0) this.answer(200);
    else if (this.ending) this.finish();
    else this.pollTimer = setTimeout(() => this.answer(200), this.pollTimeoutMs);
    return this.finalPollServed;
  }

  send(data: string | Uint8Array): void {
    if (this.ending || this.connection.state === "closed") return;
    this.queue.push(data);
    this.queuedBytes += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
    // Messages sent in the same tick share one poll response.
    if (this.poll && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** A poll's body is bytes: text already encoded is queued as it is. */
  sendUtf8(utf8: Uint8Array): void {
    this.send(utf8);
  }

  close(): void {
    if (this.ending) return;
    this.ending = true;
    if (this.poll && !this.flushScheduled) {
      if (this.queue.length > 0) this.answer(200);
      else this.finish();
    }
    // A client between polls comes back within moments; one that does not has gone.
    if (this.connection.state !== "closed") {
      this.closeTimer = setTimeout(() => this.abort(), this.closeTimeoutMs);
      this.closeTimer.unref();
    }
  }

  /** DELETE from the client, or a drop: release the pending poll with 204 and end now. */
  abort(): void {
    this.ending = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.finish();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (!this.poll) return;
    if (this.queue.length > 0) this.answer(200);
    else if (this.ending) this.finish();
  };

  /** Ends the connection: the pending poll (if any) and every later one get 204. */
  private finish(): void {
    clearTimeout(this.closeTimer);
    if (this.poll) {
      this.answer(204);
      this.finalPollServed = true;
    }
    this.connection.transportClosed();
  }

  private answer(status: 200 | 204): void {
    const response = this.poll!;
    this.poll = undefined;
    clearTimeout(this.pollTimer);
    this.detach();
    if (status === 204) return endPoll(response, 204);
    const body = this.takeQueue();
    response.writeHead(200, { ...pollHeaders, "Content-Length": body.byteLength });
    response.end(body);
    this.connection.drained();
    // The last data of a closing connection is out: the connection is over (the next poll gets 204).
    if (this.ending) {
      clearTimeout(this.closeTimer);
      this.connection.transportClosed();
    }
  }

  private detach(): void {
    this.poll = undefined;
    clearTimeout(this.pollTimer);
    this.lastDetachedAt = Date.now();
  }

  /** Everything queued, as one body; messages are never split, so the client parses it whole. */
  private takeQueue(): Uint8Array {
    const parts = this.queue.splice(0);
    this.queuedBytes = 0;
    if (parts.length === 1) return toBytes(parts[0]!);
    return Buffer.concat(parts.map(toBytes));
  }
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? textEncoder.encode(data) : data;
}

function endPoll(response: HttpReply, status: 200 | 204): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, status === 200 ? { ...pollHeaders, "Content-Length": 0 } : pollHeaders);
  response.end();
}
