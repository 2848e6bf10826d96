import { onAbort } from "../src/protocol/abort-callbacks.js";
import { MessageType, type HubMessage, type InvocationMessage, type StreamInvocationMessage } from "../src/protocol/messages.js";
import { splitOptions } from "./call-options.js";
import type { CallsInFlight, PendingCall } from "./calls-in-flight.js";
import { HubClientError } from "./errors.js";
import { HubStream } from "./hub-stream.js";
import type { Logger } from "./logger.js";
import { bindUploads, pumpUploads } from "./uploads.js";

/** What calls need of their connection. */
export interface CallHost {
  /** Runs `action` now when connected, later when reconnecting (if buffering), else fails. */
  whenConnected(action: () => void, reject: (error: Error) => void): void;
  sendMessage(message: HubMessage): Promise<void>;
  newId(): string;
  /** Headers for an invocation, asked when it is made (see HubConnectionOptions.invocationHeaders). */
  readonly invocationHeaders?: (() => Record<string, string> | undefined) | undefined;
  readonly inFlight: CallsInFlight;
  readonly log: Logger;
}

/** The calls a client makes of its hub: invoke, send and stream, uploads and cancellation included. */
export class HubCalls {
  constructor(private readonly host: CallHost) {}

  invoke<T>(method: string, rawArgs: unknown[]): Promise<T> {
    const { host } = this;
    const { args, options } = splitOptions(rawArgs);
    const headers = this.headers();
    return new Promise<T>((resolve, reject) => {
      host.whenConnected(() => {
        const signal = options?.signal;
        if (signal?.aborted) return reject(abortReason(signal)); // nothing was sent: nothing to cancel
        const invocationId = host.newId();
        // The signal's listener lives as long as the call: one signal may serve many calls.
        let release = () => {};
        const call: PendingCall = {
          resolve: (value) => (release(), resolve(value as T)),
          reject: (error) => (release(), reject(error)),
        };
        host.inFlight.addCall(invocationId, call);
        release = this.cancelOn(signal, invocationId, (error) => {
          if (host.inFlight.removeCall(invocationId)) call.reject(error);
        });
        this.sendInvocation({ type: MessageType.Invocation, invocationId, target: method, arguments: args, headers }, (error) => {
          if (host.inFlight.removeCall(invocationId)) call.reject(error);
        });
      }, reject);
    });
  }

  send(method: string, rawArgs: unknown[]): Promise<void> {
    const { args } = splitOptions(rawArgs);
    const headers = this.headers();
    return new Promise((resolve, reject) => {
      this.host.whenConnected(() => this.sendInvocation({ type: MessageType.Invocation, target: method, arguments: args, headers }, reject, resolve), reject);
    });
  }

  stream<T>(method: string, rawArgs: unknown[]): HubStream<T> {
    const { host } = this;
    const { args, options } = splitOptions(rawArgs);
    const headers = this.headers();
    let invocationId: string | undefined;
    const stream = new HubStream<T>(
      () => {
        if (invocationId === undefined) return;
        host.inFlight.removeStream(invocationId);
        void host.sendMessage({ type: MessageType.CancelInvocation, invocationId }).catch((error: unknown) => host.log.debug("Could not cancel a stream.", { invocationId, error }));
      },
      (error) => host.log.error(`A subscriber of the '${method}' stream threw.`, { error }),
    );
    host.whenConnected(
      () => {
        const signal = options?.signal;
        if (signal?.aborted) return stream.end(abortReason(signal));
        const id = (invocationId = host.newId());
        host.inFlight.addStream(id, stream as HubStream<unknown>);
        // An abort ends the stream with the signal's reason, as it rejects an invoke (the
        // CancelInvocation goes from cancelOn, once).
        stream.onFinished(
          this.cancelOn(signal, id, (error) => {
            if (host.inFlight.removeStream(id)) stream.end(error);
          }),
        );
        this.sendInvocation({ type: MessageType.StreamInvocation, invocationId: id, target: method, arguments: args, headers }, (error) => stream.end(error));
      },
      (error) => stream.end(error),
    );
    return stream;
  }

  /**
   * The headers an invocation made now carries: asked at the call, so they describe its caller
   * (its trace) even when the message goes later, after a reconnect. None when empty.
   */
  private headers(): Record<string, string> | undefined {
    const headers = this.host.invocationHeaders?.();
    return headers && Object.keys(headers).length > 0 ? headers : undefined;
  }

  /** Sends an invocation (a call's or a stream's) with its uploads bound, then pumps the uploads. */
  private sendInvocation<M extends InvocationMessage | StreamInvocationMessage>(message: M, reject: (error: Error) => void, sent?: () => void): void {
    const { host } = this;
    const bound = bindUploads(message.arguments, () => host.newId());
    const framed: M = { ...message, arguments: bound.inline, ...(bound.streamIds ? { streamIds: bound.streamIds } : {}) };
    host.sendMessage(framed).then(() => {
      sent?.();
      pumpUploads(bound, (m) => host.sendMessage(m), host.log);
    }, reject);
  }

  /**
   * Cancels call `invocationId` on the server when `signal` aborts. Returns what lets go of the
   * call, to be called when it ends, so that a signal shared by many calls holds none of those
   * that finished (and never cancels them); the signal has one listener for them all.
   */
  private cancelOn(signal: AbortSignal | undefined, invocationId: string, cancelled: (error: Error) => void): () => void {
    if (!signal) return () => {};
    return onAbort(signal, () => {
      void this.host.sendMessage({ type: MessageType.CancelInvocation, invocationId }).catch((error: unknown) => this.host.log.debug("Could not cancel a call.", { invocationId, error }));
      cancelled(abortReason(signal));
    });
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new HubClientError("ERR_CANCELED", "The call was canceled.");
}
