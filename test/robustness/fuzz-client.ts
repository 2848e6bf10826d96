import { MessageType, type HubMessage } from "@microsoft/signalr";
import type { Logger } from "../../src/index.js";
import { within } from "../support/wait.js";
import { holds, readFrame, type WireFormat } from "./wire-formats.js";

// A client that throws frames at a hub and says what each cost: after each, it calls Echo and
// sees whether the call is answered or the connection ended, and how. Its transports:
// fuzz-socket.ts (WebSockets), fuzz-http.ts (long polling, Server-Sent Events).

/**
 * What a broken frame cost: nothing (the Echo after it was answered), or the connection, ended by
 * the server with the protocol's Close error, or by the client's own Close message in the frame,
 * or by the transport itself (a WebSocket's close code 1007 for text that is not UTF-8).
 */
export type Outcome = "answered" | "closed with an error" | "closed by the client" | "closed by the transport";

export abstract class FuzzClient {
  readonly received: HubMessage[] = [];
  handshakeAnswer: string | undefined;
  /** Called on every message and at the end: see `until`. */
  private changed: () => void = () => {};

  protected constructor(protected readonly format: WireFormat) {}

  /** Whether the server has ended the connection (or the transport has). */
  abstract get closed(): boolean;

  /** Sends a frame; resolves once the transport has taken it (a POST's answer). */
  abstract send(frame: string | Uint8Array): Promise<void>;

  /** Ends the connection as a client does: its Close message, then the transport's own end. */
  abstract end(): Promise<void>;

  /** Drops the connection without a word. */
  abstract terminate(): void;

  /** Whether the transport, not the hub, ended the connection for the last frame. */
  protected closedByTransport(): boolean {
    return false;
  }

  /** Takes what the server sent: the handshake's answer first, then hub messages. */
  protected receive(data: string | Uint8Array): void {
    if (this.handshakeAnswer === undefined) {
      const end = typeof data === "string" ? data.indexOf("\u001e") : data.indexOf(0x1e);
      if (end < 0) throw new Error(`the handshake's answer is not a record: ${String(data)}`);
      this.handshakeAnswer = typeof data === "string" ? data.slice(0, end + 1) : Buffer.from(data.subarray(0, end + 1)).toString();
      data = data.slice(end + 1);
    }
    if (data.length > 0) this.received.push(...readFrame(data, this.format.protocol));
    this.changed();
  }

  /** To be called when the connection has ended. */
  protected ended(): void {
    this.changed();
  }

  /** Calls Echo with `value` (a string, as every server's Echo takes) under `invocationId`. */
  echo(invocationId: string, value: string): Promise<void> {
    return this.send(this.format.frame({ type: MessageType.Invocation, invocationId, target: "Echo", arguments: [value], headers: {} }));
  }

  completion(invocationId: string): HubMessage | undefined {
    return this.received.find((m) => m.type === MessageType.Completion && m.invocationId === invocationId);
  }

  /** Waits until `condition` holds, checked whenever a message arrives or the connection ends. */
  until(condition: () => boolean, what: () => string, ms?: number): Promise<void> {
    if (condition()) return Promise.resolve();
    const held = new Promise<void>((resolve) => {
      this.changed = () => {
        if (!condition()) return;
        this.changed = () => {};
        resolve();
      };
    });
    return within(held, what(), ms);
  }

  /** Makes the handshake (`version` 2 turns stateful reconnect on where negotiated) and checks its answer. */
  protected async handshake(version: number): Promise<void> {
    await within(this.send(`{"protocol":"${this.format.protocol.name}","version":${version}}\u001e`), "the transport to take the handshake");
    await this.until(() => this.handshakeAnswer !== undefined, () => "the handshake's answer");
    if (this.handshakeAnswer !== "{}\u001e") throw new Error(`the handshake failed: ${this.handshakeAnswer}`);
  }

  /**
   * Sends `frame`, then an Echo of `probe`, and says what the frame cost once the Echo is answered
   * or the connection is over. An answer other than the probe's own value throws: a broken frame
   * must not change a later call.
   */
  async costOf(frame: string | Uint8Array, probe: string, what: string, ms?: number): Promise<Outcome> {
    await within(this.send(frame), `the transport to take ${what}`, ms);
    await within(this.echo(probe, probe), `the transport to take the Echo after ${what}`, ms);
    await this.until(() => this.closed || this.completion(probe) !== undefined, () => `an answer or the end after ${what}`, ms);
    if (!this.closed) {
      const answer = this.completion(probe)!;
      if (answer.type !== MessageType.Completion || answer.result !== probe) throw new Error(`${what}: Echo answered ${JSON.stringify(answer)}`);
      return "answered";
    }
    const close = this.received.find((m) => m.type === MessageType.Close);
    if (typeof close?.error === "string") {
      if (!/^Connection closed with an error\. \w+: ./.test(close.error)) throw new Error(`${what}: closed with '${close.error}'`);
      return "closed with an error";
    }
    if (holds(frame, this.format.protocol, MessageType.Close)) return "closed by the client";
    if (this.closedByTransport()) return "closed by the transport";
    throw new Error(`${what}: ended without a Close error (${this.endedHow()})`);
  }

  /** How the connection ended, for a failure's message. */
  protected abstract endedHow(): string;
}

/** A logger that keeps what the server reports at `error`: an unexpected failure, never broken input. */
export function errorsKept(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = () => {};
  return { level: "error", debug: ignore, info: ignore, warn: ignore, error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields)}`), errors };
}
