import type { CompletionMessage } from "../src/protocol/messages.js";
import { connectionLost, HubClientError, HubError, messages } from "./errors.js";
import type { HubStream } from "./hub-stream.js";

export interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The calls and streams that await the server's answer, by invocation id. */
export class CallsInFlight {
  private readonly calls = new Map<string, PendingCall>();
  private readonly streams = new Map<string, HubStream<unknown>>();

  addCall(invocationId: string, call: PendingCall): void {
    this.calls.set(invocationId, call);
  }

  /** Forgets a call (cancelled, or never sent); true if it was still waiting. */
  removeCall(invocationId: string): boolean {
    return this.calls.delete(invocationId);
  }

  addStream(invocationId: string, stream: HubStream<unknown>): void {
    this.streams.set(invocationId, stream);
  }

  /** Forgets a stream (cancelled); true if it was still running. */
  removeStream(invocationId: string): boolean {
    return this.streams.delete(invocationId);
  }

  item(invocationId: string, item: unknown): void {
    this.streams.get(invocationId)?.push(item);
  }

  /** The server's Completion: the call's result or error, or the stream's end. */
  complete(message: CompletionMessage): void {
    const error = message.error !== undefined ? new HubError(message.error) : undefined;
    const stream = this.streams.get(message.invocationId);
    if (stream) {
      this.streams.delete(message.invocationId);
      return stream.end(error);
    }
    const call = this.calls.get(message.invocationId);
    if (!call) return;
    this.calls.delete(message.invocationId);
    if (error) call.reject(error);
    else call.resolve(message.hasResult ? message.result : undefined);
  }

  /** The connection is gone: every call and stream fails (with the server's reason if it closed us). */
  failAll(error?: Error): void {
    const reason = error ?? new HubClientError("ERR_CONNECTION_LOST", messages.connectionClosed);
    const lost = connectionLost(error);
    const byServer = error instanceof HubClientError && error.code === "ERR_CLOSED_BY_SERVER";
    const calls = [...this.calls.values()];
    const streams = [...this.streams.values()];
    this.calls.clear();
    this.streams.clear();
    for (const call of calls) call.reject(byServer ? reason : lost);
    for (const stream of streams) stream.end(lost);
  }
}

/** A call made while reconnecting: run once the connection is back, or failed if it never is. */
interface HeldCall {
  run(): void;
  reject(error: Error): void;
}

/** Calls made while reconnecting, in the order they were made; at most `max` of them. */
export class HeldCalls {
  private readonly held: HeldCall[] = [];

  constructor(private readonly max: number) {}

  hold(run: () => void, reject: (error: Error) => void): void {
    if (this.held.length >= this.max) {
      return reject(new HubClientError("ERR_BUFFER_FULL", `Too many calls are waiting for the connection to come back. At most ${this.max} are held (maxBufferedCalls).`));
    }
    this.held.push({ run, reject });
  }

  runAll(): void {
    for (const call of this.held.splice(0)) call.run();
  }

  rejectAll(error: Error): void {
    for (const call of this.held.splice(0)) call.reject(error);
  }
}
