import { HubException } from "../errors.js";

/** What an upload stream tells its connection when it fills up and drains. */
export interface FlowControl {
  pauseReceiving(): void;
  resumeReceiving(): void;
}

/**
 * The items of one stream a client uploads, read by a hub method as an AsyncIterable. At most
 * `capacity` items wait; past that the connection stops reading until the method catches up.
 * A stream the client ends with an error throws a HubException in the reader.
 */
export class UploadStream<T = unknown> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private done = false;
  private error: string | undefined;
  private waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  private paused = false;

  constructor(
    private readonly capacity: number,
    private readonly flow: FlowControl,
  ) {}

  /** An item from the client. */
  push(item: T): void {
    if (this.done) return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.items.length >= this.capacity) {
      this.paused = true;
      this.flow.pauseReceiving();
    }
  }

  /** The client ended the stream (with an error text, or none); also how the server closes it. */
  complete(error?: string): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (error !== undefined) {
        this.error = undefined;
        waiter.reject(new HubException(error));
      } else waiter.resolve({ value: undefined, done: true });
    }
    if (error === undefined && this.items.length === 0) this.release();
  }

  /** The method is over: drop what is left, and never hold the connection paused. */
  discard(): void {
    this.done = true;
    this.items.length = 0;
    this.error = undefined;
    this.waiter?.resolve({ value: undefined, done: true });
    this.waiter = undefined;
    this.release();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      if (this.paused && this.items.length < this.capacity) this.release();
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      if (this.error !== undefined) {
        const error = this.error;
        this.error = undefined;
        return Promise.reject(new HubException(error));
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader stopped early (`break` in `for await`). */
  return(): Promise<IteratorResult<T>> {
    this.discard();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private release(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flow.resumeReceiving();
  }
}
