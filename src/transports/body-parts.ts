import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";

/**
 * A request's body, read in parts of `size` bytes (the last may be smaller, even empty), one
 * when asked for: nothing more is read until the next part is asked for, so a client that sends
 * faster than its parts are taken waits (its socket is not read). At most one read of the socket
 * beyond the part is held.
 */
export class BodyParts {
  private readonly chunks: AsyncIterator<Buffer>;
  /** Read already, beyond the last part. */
  private rest: Buffer | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly size: number,
  ) {
    this.chunks = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next part, and whether the body ends with it; undefined when the request was aborted. */
  async next(): Promise<{ bytes: Buffer; last: boolean } | undefined> {
    // A request that waited its turn may have been dropped meanwhile.
    if (this.req.destroyed && !this.req.complete) return undefined;
    const read: Buffer[] = this.rest ? [this.rest] : [];
    let length = this.rest?.length ?? 0;
    this.rest = undefined;
    try {
      while (length < this.size) {
        const chunk = await this.chunks.next();
        if (chunk.done) {
          // The iteration also ends when the request is destroyed before its end.
          if (!this.req.complete) return undefined;
          return { bytes: read.length === 1 ? read[0]! : Buffer.concat(read, length), last: true };
        }
        read.push(chunk.value);
        length += chunk.value.length;
      }
    } catch {
      return undefined; // aborted: the client's connection closed mid-body
    }
    const joined = Buffer.concat(read, length);
    if (length > this.size) this.rest = joined.subarray(this.size);
    return { bytes: joined.subarray(0, this.size), last: false };
  }
}
