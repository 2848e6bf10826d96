import { HubException, HubwireError } from "../errors.js";
import { onAbort } from "../protocol/abort-callbacks.js";
import { MessageType, type CompletionMessage, type InvocationMessage } from "../protocol/messages.js";

/** How one client result is awaited. */
export interface ClientInvokeOptions {
  /** Give up after this many ms (ERR_CLIENT_RESULT_TIMEOUT); default: the hub's `clientResultTimeout`. */
  timeout?: number;
  /** Give up when this aborts (rejects with its reason), e.g. the hub method's own `this.signal`. */
  signal?: AbortSignal;
}

interface PendingResult {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Lets go of the call's signal (see onAbort). */
  release: (() => void) | undefined;
}

/**
 * The client results one connection awaits: the server sends an Invocation with an id of its
 * own, the client answers with a Completion. Ids are the server's own counter, independent of
 * the client's.
 */
export class ClientResults {
  private readonly pending = new Map<string, PendingResult>();
  private nextId = 0;

  constructor(
    private readonly write: (message: InvocationMessage) => void,
    private readonly defaultTimeoutMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  invoke(target: string, args: unknown[], options: ClientInvokeOptions = {}): Promise<unknown> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const invocationId = `s${++this.nextId}`;
    return new Promise((resolve, reject) => {
      const entry: PendingResult = { resolve, reject, timer: undefined, release: undefined };
      const timeout = options.timeout ?? this.defaultTimeoutMs;
      entry.timer = setTimeout(
        () =>
          this.settle(invocationId, undefined, new HubwireError(
            "ERR_CLIENT_RESULT_TIMEOUT",
            `The client did not answer '${target}' within ${timeout} ms.`,
          )),
        timeout,
      );
      if (signal) entry.release = onAbort(signal, () => this.settle(invocationId, undefined, signal.reason));
      this.pending.set(invocationId, entry);
      this.write({ type: MessageType.Invocation, invocationId, target, arguments: args });
    });
  }

  /** Takes a Completion from the client; false when it answers nothing this side asked. */
  complete(message: CompletionMessage): boolean {
    if (!this.pending.has(message.invocationId)) return false;
    if (message.error !== undefined) this.settle(message.invocationId, undefined, new HubException(message.error));
    else this.settle(message.invocationId, message.hasResult ? message.result : undefined);
    return true;
  }

  /** The connection ended (or moved to another server: ERR_CONNECTION_MOVED) before answering. */
  rejectAll(connectionId: string, code: "ERR_CONNECTION_CLOSED" | "ERR_CONNECTION_MOVED" = "ERR_CONNECTION_CLOSED"): void {
    const why = code === "ERR_CONNECTION_MOVED" ? "moved to another server" : "disconnected";
    for (const id of [...this.pending.keys()]) {
      this.settle(id, undefined, new HubwireError(code, `Connection '${connectionId}' ${why} before it answered.`));
    }
  }

  private settle(invocationId: string, value: unknown, error?: unknown): void {
    const entry = this.pending.get(invocationId);
    if (!entry) return;
    this.pending.delete(invocationId);
    clearTimeout(entry.timer);
    entry.release?.();
    if (error !== undefined) entry.reject(error);
    else entry.resolve(value);
  }
}
