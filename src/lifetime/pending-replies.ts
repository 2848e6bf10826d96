import { onAbort } from "../protocol/abort-callbacks.js";

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** The server that took the request, once it said so. */
  holder?: string;
}

/**
 * Requests this server sent to another over the backplane (group changes, client results) and
 * are waiting for their answer, by id. Each ends once: answered, timed out, aborted, or failed
 * because the server that took it is gone. Late answers are ignored.
 */
export class PendingReplies<Id = number> {
  private readonly waiting = new Map<Id, Waiter>();

  /** Waits for the answer to `id`, failing with `timedOut()` after `timeoutMs` or with the signal's reason. */
  wait(id: Id, timeoutMs: number, signal: AbortSignal | undefined, timedOut: () => Error): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, timedOut()), timeoutMs);
      timer.unref();
      const release = signal ? onAbort(signal, () => this.settle(id, signal.reason)) : undefined;
      const done = () => {
        clearTimeout(timer);
        release?.();
      };
      this.waiting.set(id, {
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
      });
    });
  }

  /** Ends what waits on `id`: with `value` when `ok`, else with `value` as the error. */
  settle(id: Id, value: unknown, ok = false): void {
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    if (ok) waiter.resolve(value);
    else waiter.reject(value);
  }

  /** The server `serverId` took request `id`: if it goes, the request fails at once. */
  takenBy(id: Id, serverId: string): void {
    const waiter = this.waiting.get(id);
    if (waiter) waiter.holder = serverId;
  }

  /** Whether request `id` still waits and no server said it took it. */
  untaken(id: Id): boolean {
    const waiter = this.waiting.get(id);
    return waiter !== undefined && waiter.holder === undefined;
  }

  /** Fails every request still waiting, with `error()`. */
  failAll(error: () => Error): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, error());
  }

  /** Fails every request the server `serverId` took, with `error()`. */
  failTakenBy(serverId: string, error: () => Error): void {
    for (const [id, waiter] of this.waiting) if (waiter.holder === serverId) this.settle(id, error());
  }
}
