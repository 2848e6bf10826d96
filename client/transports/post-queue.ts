import { joinPayloads, maxMessageSize } from "../payloads.js";

interface Queued {
  data: string | Uint8Array;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The sends of a long-polling or Server-Sent Events connection, as POSTs one at a time, in order:
 * what is sent while a POST is out goes, joined, in the next one, as the official clients send
 * (up to maxMessageSize joined: a multiplexed connection's POSTs are read whole).
 * Two POSTs out at once would race on two sockets, or to two servers behind a load balancer, and
 * a hub message (a stream's cancel, an upload's item) could overtake the one sent before it.
 */
export class PostQueue {
  private queued: Queued[] = [];
  private posting = false;

  constructor(private readonly post: (body: string | Uint8Array) => Promise<void>) {}

  /** Settles once the POST that carried `data` was answered. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ data, resolve, reject });
      if (!this.posting) void this.postAll();
    });
  }

  private async postAll(): Promise<void> {
    this.posting = true;
    while (this.queued.length > 0) {
      const batch = this.nextBatch();
      try {
        await this.post(joinPayloads(batch.map((queued) => queued.data)));
        for (const queued of batch) queued.resolve();
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    this.posting = false;
  }

  /** The sends of the next POST: the first waiting, and those after it while they fit in maxMessageSize. */
  private nextBatch(): Queued[] {
    let size = 0;
    let count = 0;
    for (const queued of this.queued) {
      size += queued.data.length;
      if (count > 0 && size > maxMessageSize) break;
      count++;
    }
    return this.queued.splice(0, count);
  }
}
