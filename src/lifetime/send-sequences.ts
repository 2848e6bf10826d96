import type { DeliveredRecord } from "./connection-handoff.js";

/** The sends remembered per server and channel; past it the oldest are forgotten. */
const remembered = 1_024;

/** What one channel received from one server. */
interface Received {
  /** Sequence numbers received, oldest first (mostly rising). */
  readonly seen: Set<number>;
  /** The highest number forgotten: anything at or below it counts as a copy. */
  floor: number;
}

/**
 * The sends delivered here from each other server on each channel, by their sequence numbers
 * (SendMessage.seq), so a copy is dropped: a message its server published again after a publish
 * that seemed to fail but did not. A number not seen before is delivered even when it is below
 * the highest one: on a Redis Cluster a publish that failed on one shard connection may be sent
 * again after a later one got through on a new connection. Per channel, because with sharded
 * pub/sub each channel comes through its own shard's connection. The last `remembered` numbers
 * per server and channel are kept; older ones are taken for copies.
 */
export class SendSequences {
  /** origin -> channel -> what it received. */
  private readonly received = new Map<string, Map<string, Received>>();

  /** Whether send `seq` of server `origin` on `channel` is new here (it is then remembered). */
  accept(origin: string, channel: string, seq: number | undefined): boolean {
    if (seq === undefined) return true;
    let channels = this.received.get(origin);
    if (!channels) this.received.set(origin, (channels = new Map()));
    let received = channels.get(channel);
    if (!received) channels.set(channel, (received = { seen: new Set(), floor: -Infinity }));
    if (seq <= received.floor || received.seen.has(seq)) return false;
    received.seen.add(seq);
    if (received.seen.size > remembered) this.forgetOldest(received);
    return true;
  }

  /**
   * What was delivered on `channels`, from every server: handed to the server a connection moves
   * to, which delivers only what is not in it (at most `remembered` numbers per server and channel).
   */
  records(channels: readonly string[]): DeliveredRecord[] {
    const records: DeliveredRecord[] = [];
    for (const [origin, byChannel] of this.received) {
      for (const channel of channels) {
        const received = byChannel.get(channel);
        if (received) records.push([origin, channel, received.floor, [...received.seen]]);
      }
    }
    return records;
  }

  /** Forgets a channel this server no longer subscribes to (a connection's that left, a group's emptied). */
  forgetChannel(channel: string): void {
    for (const channels of this.received.values()) channels.delete(channel);
  }

  /**
   * Forgets a server that went away, after `ms` (a copy of its sends may still come, if it was
   * only cut off), unless `stillGone()` says it is back by then.
   */
  forgetLater(origin: string, ms: number, stillGone: () => boolean): void {
    setTimeout(() => {
      if (stillGone()) this.received.delete(origin);
    }, ms).unref();
  }

  /** Keeps the newer half; the floor rises to the highest number forgotten. */
  private forgetOldest(received: Received): void {
    const numbers = [...received.seen].sort((a, b) => a - b);
    const forgotten = numbers.slice(0, numbers.length - remembered / 2);
    received.floor = Math.max(received.floor, forgotten.at(-1)!);
    for (const seq of forgotten) received.seen.delete(seq);
  }
}
