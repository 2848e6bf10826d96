import { parseHandshakeResponse } from "../src/protocol/handshake.js";
import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { MessageType, type HubMessage } from "../src/protocol/messages.js";
import { HubClientError, markFinal, messages } from "./errors.js";

/**
 * A connection attempt's wait for the server's handshake answer: the answer, a failure, or a
 * timeout; and what follows the answer, until the attempt takes it.
 */
export class HandshakeWait {
  readonly done: Promise<void>;
  private settle!: { resolve(): void; reject(error: Error): void };
  private settled = false;
  private failed = false;
  private arrived: Array<string | Uint8Array> | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(timeoutMs = 15_000) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // it may fail before it is awaited (a stop while the request goes out)
    this.timer = setTimeout(() => this.fail(new HubClientError("ERR_HANDSHAKE", "Server timeout elapsed without receiving a handshake response.")), timeoutMs);
  }

  /**
   * Data from the server. Until the answer has come it is the answer; what follows it (in the
   * same frame, or later while the attempt is being set up) is kept for `takeArrived`.
   */
  receive(data: string | Uint8Array): void {
    if (this.settled) return this.keep(data);
    let response;
    try {
      response = parseHandshakeResponse(data);
    } catch (error) {
      return this.fail(new HubClientError("ERR_HANDSHAKE", `Error parsing handshake response: ${String(error)}`));
    }
    if (response.error !== undefined) return this.fail(new HubClientError("ERR_HANDSHAKE", messages.handshakeError(response.error)));
    this.end();
    this.settle.resolve();
    if (response.remaining !== undefined) this.keep(response.remaining);
  }

  /**
   * The messages that came after the answer (what the hub's onConnected sent), for the
   * connection to handle once it is set up (connected, with its stateful link), so that their
   * handlers may call the server and each is counted. A Close among them ends the attempt
   * instead, with the server's reason, as the official client's start() fails: final unless the
   * server allows a reconnect.
   */
  takeArrived(protocol: HubProtocol): HubMessage[] {
    const arrived = this.arrived ?? [];
    this.arrived = undefined;
    const received = arrived.flatMap((data) => protocol.parseMessages(data));
    const close = received.find((message) => message.type === MessageType.Close);
    if (close === undefined) return received;
    const reason = new HubClientError("ERR_CLOSED_BY_SERVER", close.error !== undefined ? messages.closeError(close.error) : "The server closed the connection as it began.");
    throw close.allowReconnect === true ? reason : markFinal(reason);
  }

  private keep(data: string | Uint8Array): void {
    if (this.failed || data.length === 0) return;
    (this.arrived ??= []).push(data);
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.failed = true;
    this.end();
    this.settle.reject(error);
  }

  private end(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}
