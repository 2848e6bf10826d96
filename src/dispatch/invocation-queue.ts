import type { InvocationWork } from "./invoker.js";
import type { FlowControl } from "./upload-stream.js";

/**
 * The invocations of one connection waiting their turn, in order, bounded in count and in bytes.
 * Reaching either bound stops reading from the client (the WebSocket is paused, the next POST
 * is left unread) until the queue is down to half of both, so a client that calls faster than
 * its calls complete is slowed down instead of filling memory. What the read in progress still
 * holds is queued past the bound: it is at most a turn's part of a read (see read-turns.ts).
 */
export class InvocationQueue {
  private readonly works: InvocationWork[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private paused = false;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
    private readonly flow: FlowControl,
  ) {}

  get length(): number {
    return this.works.length;
  }

  /** The invocation next in line. */
  peek(): InvocationWork | undefined {
    return this.works[0];
  }

  /** `size`: the bytes the invocation arrived in (its share of its frame). */
  push(work: InvocationWork, size: number): void {
    this.works.push(work);
    this.sizes.push(size);
    this.bytes += size;
    if (!this.paused && (this.works.length >= this.maxCount || this.bytes >= this.maxBytes)) {
      this.paused = true;
      this.flow.pauseReceiving();
    }
  }

  shift(): InvocationWork | undefined {
    const work = this.works.shift();
    if (work === undefined) return undefined;
    this.bytes -= this.sizes.shift()!;
    if (this.paused && this.works.length <= this.maxCount / 2 && this.bytes <= this.maxBytes / 2) {
      this.paused = false;
      this.flow.resumeReceiving();
    }
    return work;
  }

  /** Empties the queue (the connection closed) and returns what it held. */
  clear(): InvocationWork[] {
    this.sizes.length = 0;
    this.bytes = 0;
    if (this.paused) {
      this.paused = false;
      this.flow.resumeReceiving();
    }
    return this.works.splice(0);
  }
}
