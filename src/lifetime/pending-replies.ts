interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Requests sent over a backplane that wait for another server's answer, by id: each ends once,
 * with its answer, its timeout, or its signal; a late answer finds nothing and is ignored.
 */
export class PendingReplies<Id> {
  private readonly waiting = new Map<Id, Waiter>();

  /** Waits for the answer to `id`; `timedOut` makes the error after `timeoutMs`. */
  wait(id: Id, timeoutMs: number, timedOut: () => Error, signal?: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.reject(id, timedOut()), timeoutMs);
      timer.unref();
      const onAbort = () => this.reject(id, signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.waiting.set(id, {
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
      });
    });
  }

  resolve(id: Id, value: unknown): void {
    this.take(id)?.resolve(value);
  }

  reject(id: Id, error: unknown): void {
    this.take(id)?.reject(error);
  }

  private take(id: Id): Waiter | undefined {
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    return waiter;
  }
}
