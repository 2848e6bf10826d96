/** What `subscribe` takes: the official client's observer shape. */
export interface StreamObserver<T> {
  next(item: T): void;
  error?(error: Error): void;
  complete?(): void;
}

export interface Subscription {
  dispose(): void;
}

/**
 * A stream of results from a hub method: read it with `for await`, or `subscribe` to it.
 * Leaving the loop early (or disposing the subscription) cancels the stream on the server.
 *
 * @example
 * for await (const price of connection.stream<number>("prices", "ACME")) show(price);
 */
export class HubStream<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private done = false;
  private failure: Error | undefined;
  private waiter: { resolve(result: IteratorResult<T>): void; reject(error: Error): void } | undefined;
  private observer: StreamObserver<T> | undefined;
  private finished: (() => void) | undefined;

  constructor(
    private readonly cancel: () => void,
    /** Told when a subscriber's callback throws: it is reported, and the connection carries on. */
    private readonly subscriberThrew: (error: unknown) => void,
  ) {}

  /** @internal runs `callback` once, when the stream ends or is stopped (now, if it already has) */
  onFinished(callback: () => void): void {
    if (this.done) return callback();
    this.finished = callback;
  }

  private finish(): void {
    const callback = this.finished;
    this.finished = undefined;
    callback?.();
  }

  /** @internal an item from the server */
  push(item: T): void {
    if (this.done) return;
    if (this.observer) return this.deliver(this.observer, item);
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      return waiter.resolve({ value: item, done: false });
    }
    this.items.push(item);
  }

  /** @internal the end of the stream, with an error or not */
  end(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    this.finish();
    const observer = this.observer;
    if (observer) return this.notify(() => (error ? observer.error?.(error) : observer.complete?.()));
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (error) waiter.reject(error);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  subscribe(observer: StreamObserver<T>): Subscription {
    this.observer = observer;
    for (const item of this.items.splice(0)) this.deliver(observer, item);
    if (this.done) {
      const failure = this.failure;
      this.notify(() => (failure ? observer.error?.(failure) : observer.complete?.()));
    }
    return { dispose: () => this.stop() };
  }

  /** One item to a subscriber: per item, so no closure is made for it as `notify` would need. */
  private deliver(observer: StreamObserver<T>, item: T): void {
    try {
      observer.next(item);
    } catch (error) {
      this.subscriberThrew(error);
    }
  }

  private notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.subscriberThrew(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.done) return this.failure ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
      },
      return: () => {
        this.stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.items.length = 0;
    this.finish();
    this.cancel();
  }
}
