import type { TransportEvents } from "../../client/transports/transport.js";
import { HubwireError } from "../errors.js";
import { parseHandshakeResponse } from "../protocol/handshake.js";
import type { HubProtocol } from "../protocol/hub-protocol.js";
import { MessageType } from "../protocol/messages.js";

type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : unknown[];

/**
 * One call of a client function as the client received it: its name as the hub sent it, and its
 * arguments as the protocol decoded them (a `Date` sent over JSON arrives as a string).
 */
export type ReceivedMessage<TClient> = {
  [K in keyof TClient & string]: { readonly method: K; readonly args: ArgsOf<TClient[K]> };
}[keyof TClient & string];

/** Options of `TestClient.next`. */
export interface NextOptions {
  /** Fail when no such message arrived within this many ms. Default: wait as long as the test does. */
  timeoutMs?: number;
  /** Stop waiting when this aborts. */
  signal?: AbortSignal;
}

interface Waiter {
  resolve(args: unknown[]): void;
  reject(error: Error): void;
}

/**
 * Everything a test client received, in order, read from the frames themselves (so a message
 * counts whether or not the client has a handler for it), and the messages of each name that
 * `next` has not yet returned.
 */
export class ReceivedMessages {
  readonly all: Array<{ method: string; args: unknown[] }> = [];
  private readonly unread = new Map<string, unknown[][]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private handshakeDone = false;
  private endedBy: Error | undefined;

  constructor(
    private readonly protocol: HubProtocol,
    /** Names the client in errors ("alice"). */
    private readonly clientName: string,
  ) {}

  /** Puts the recorder in front of the client's transport events. */
  tap(events: TransportEvents): TransportEvents {
    return {
      onData: (data) => {
        this.record(data);
        events.onData(data);
      },
      onClose: (error) => {
        this.end(error);
        events.onClose(error);
      },
    };
  }

  /** The next message named `method` (case-insensitive, as client handlers are) that `next` has not returned yet. */
  next(method: string, options: NextOptions = {}): Promise<unknown[]> {
    const key = method.toLowerCase();
    const waiting = this.unread.get(key);
    if (waiting && waiting.length > 0) return Promise.resolve(waiting.shift()!);
    if (this.endedBy) return Promise.reject(this.endedBy);
    options.signal?.throwIfAborted();
    return new Promise<unknown[]>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => settle(() => reject(options.signal!.reason));
      const settle = (then: () => void) => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        const list = this.waiters.get(key);
        list?.splice(list.indexOf(waiter), 1);
        then();
      };
      const waiter: Waiter = {
        resolve: (args) => settle(() => resolve(args)),
        reject: (error) => settle(() => reject(error)),
      };
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), waiter]);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () => waiter.reject(new HubwireError("ERR_NOT_RECEIVED", `${this.clientName} received no '${method}' within ${options.timeoutMs} ms; ${this.describe()}.`)),
          options.timeoutMs,
        );
      }
    });
  }

  private record(data: string | Uint8Array): void {
    let rest: string | Uint8Array | undefined = data;
    if (!this.handshakeDone) {
      // The client itself reports a bad or refused handshake; the recorder only skips the answer.
      try {
        const response = parseHandshakeResponse(data);
        if (response.error !== undefined) return;
        rest = response.remaining;
      } catch {
        return;
      }
      this.handshakeDone = true;
    }
    if (rest === undefined || (typeof rest === "string" ? rest.length : rest.byteLength) === 0) return;
    let messages;
    try {
      messages = this.protocol.parseMessages(rest);
    } catch {
      return; // the client fails its connection for this itself
    }
    for (const message of messages) {
      if (message.type !== MessageType.Invocation) continue;
      const received = { method: message.target, args: message.arguments };
      this.all.push(received);
      const key = message.target.toLowerCase();
      const waiter = this.waiters.get(key)?.[0];
      if (waiter) waiter.resolve(received.args);
      else this.unread.set(key, [...(this.unread.get(key) ?? []), received.args]);
    }
  }

  private end(error: Error | undefined): void {
    if (this.endedBy) return;
    const why = error ? `: ${error.message}` : "";
    this.endedBy = new HubwireError("ERR_NOT_RECEIVED", `${this.clientName}'s connection closed${why}; ${this.describe()}.`);
    for (const list of [...this.waiters.values()]) for (const waiter of [...list]) waiter.reject(this.endedBy);
  }

  private describe(): string {
    if (this.all.length === 0) return "it received nothing";
    const names = this.all.slice(-10).map((m) => m.method);
    return `it received ${this.all.length > 10 ? "…, " : ""}${names.join(", ")}`;
  }
}
