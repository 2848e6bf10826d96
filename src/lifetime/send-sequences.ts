import { maxInFlight } from "./backplane-outbox.js";
import type { DeliveredRecord } from "./connection-handoff.js";

/**
 * How far below the newest number a channel had from a server a send of it can still arrive.
 * Each channel's sends come in the order their server published them, but for copies: a copy is
 * a send published again after a publish that seemed to fail, and only publishes in flight at
 * a failure are, at most `maxInFlight`, each numbered within that many of the newest the server
 * had sent. Four times that is remembered; anything older is taken for a copy.
 */
export const copyWindow = 4 * maxInFlight;

/** What one channel received from one server. */
interface Received {
  /** The numbers received above the floor, ascending, from index `head` on (those before are forgotten). */
  seen: number[];
  head: number;
  /** Anything at or below it counts as a copy: `copyWindow` below the newest number. */
  floor: number;
}

/**
 * The sends delivered here from each other server on each channel, by their sequence numbers
 * (SendMessage.seq), so a copy is dropped: a message its server published again after a publish
 * that seemed to fail but did not. A number not seen before is delivered even when it is below
 * the highest one: on a Redis Cluster a publish that failed on one shard connection may be sent
 * again after a later one got through on a new connection. Per channel, because with sharded
 * pub/sub each channel comes through its own shard's connection.
 *
 * Only the numbers within `copyWindow` of a channel's newest are kept: a connection's channel,
 * which gets a few of its server's sends, remembers a few numbers however long it lives (a set
 * of its last thousand cost some 40 KB per connection and server).
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
    if (!received) channels.set(channel, (received = { seen: [], head: 0, floor: -Infinity }));
    if (seq <= received.floor) return false;
    const { seen } = received;
    if (seen.length === received.head || seq > seen[seen.length - 1]!) {
      seen.push(seq);
      forgetBelow(received, seq - copyWindow);
      return true;
    }
    // Below the newest: a copy, or a send published again after a failure that never arrived.
    const at = firstAtOrAbove(seen, received.head, seq);
    if (seen[at] === seq) return false;
    seen.splice(at, 0, seq);
    return true;
  }

  /**
   * What was delivered on `channels`, from every server: handed to the server a connection moves
   * to, which delivers only what is not in it.
   */
  records(channels: readonly string[]): DeliveredRecord[] {
    const records: DeliveredRecord[] = [];
    for (const [origin, byChannel] of this.received) {
      for (const channel of channels) {
        const received = byChannel.get(channel);
        if (received) records.push([origin, channel, received.floor, received.seen.slice(received.head)]);
      }
    }
    return records;
  }

  /**
   * Where a replay of `origin`'s sends on `channels` may start, at the latest, to bring what of
   * them this server missed there: just before the lowest number it remembers having had on the
   * channel where that is lowest. A number above it that it never had was missed (a copy of one
   * it had is dropped); one below it that it never had was sent before this server listened
   * there (but for a publish that failed and was made again meanwhile), so a replay from further
   * back would deliver sends made before a connection joined. Undefined where it had none of
   * `origin`'s sends on them.
   */
  replayAfter(origin: string, channels: readonly string[]): number | undefined {
    const byChannel = this.received.get(origin);
    if (!byChannel) return undefined;
    let after: number | undefined;
    for (const channel of channels) {
      const received = byChannel.get(channel);
      // A channel's record holds at least the number that made it.
      if (received && (after === undefined || received.seen[received.head]! - 1 < after)) after = received.seen[received.head]! - 1;
    }
    return after;
  }

  /** How many channels have send numbers remembered here, from any server. */
  get channelCount(): number {
    const channels = new Set<string>();
    for (const byChannel of this.received.values()) for (const channel of byChannel.keys()) channels.add(channel);
    return channels.size;
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
}

/**
 * Raises the floor to `floor`, forgetting the numbers at or below it. The array is cut once half
 * of it is forgotten: a busy channel's on every so many sends, not on each.
 */
function forgetBelow(received: Received, floor: number): void {
  if (floor <= received.floor) return;
  received.floor = floor;
  const { seen } = received;
  let head = received.head;
  while (head < seen.length && seen[head]! <= floor) head++;
  if (head > 0 && head * 2 >= seen.length) {
    seen.splice(0, head);
    head = 0;
  }
  received.head = head;
}

/** The index of the first number in `seen[from..]` (ascending) at or above `seq`. */
function firstAtOrAbove(seen: readonly number[], from: number, seq: number): number {
  let low = from;
  let high = seen.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (seen[middle]! < seq) low = middle + 1;
    else high = middle;
  }
  return low;
}
