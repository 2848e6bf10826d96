import { parseHandshakeResponse } from "../src/protocol/handshake.js";
import { HubClientError, messages } from "./errors.js";

/** A connection attempt's wait for the server's handshake answer: the answer, a failure, or a timeout. */
export class HandshakeWait {
  readonly done: Promise<void>;
  private settle!: { resolve(): void; reject(error: Error): void };
  private settled = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(timeoutMs = 15_000) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // it may fail before it is awaited (a stop while the request goes out)
    this.timer = setTimeout(() => this.fail(new HubClientError("ERR_HANDSHAKE", "Server timeout elapsed without receiving a handshake response.")), timeoutMs);
  }

  /**
   * Data from the server. Until the answer has come it is the answer: returns what follows it in
   * the same frame (messages), if anything. After that, data passes through.
   */
  receive(data: string | Uint8Array): string | Uint8Array | undefined {
    if (this.settled) return data;
    let response;
    try {
      response = parseHandshakeResponse(data);
    } catch (error) {
      this.fail(new HubClientError("ERR_HANDSHAKE", `Error parsing handshake response: ${String(error)}`));
      return undefined;
    }
    if (response.error !== undefined) {
      this.fail(new HubClientError("ERR_HANDSHAKE", messages.handshakeError(response.error)));
      return undefined;
    }
    this.end();
    this.settle.resolve();
    return response.remaining;
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.end();
    this.settle.reject(error);
  }

  private end(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}
