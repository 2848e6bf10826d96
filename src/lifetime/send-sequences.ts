/**
 * The last send delivered here from each other server on each channel, by its sequence number
 * (SendMessage.seq). Redis keeps one publisher's messages on one channel in order, so a number at
 * or below the last is a copy: a message its server published again after a publish that seemed
 * to fail but did not. Per channel, not per server: on a Redis Cluster with sharded pub/sub each
 * channel comes through the connection of its own shard, so one server's sends on two channels
 * may arrive in either order.
 */
export class SendSequences {
  /** origin -> channel -> last seq. */
  private readonly last = new Map<string, Map<string, number>>();

  /** Whether send `seq` of server `origin` on `channel` is new here (and is then the last delivered). */
  accept(origin: string, channel: string, seq: number | undefined): boolean {
    if (seq === undefined) return true;
    let channels = this.last.get(origin);
    if (!channels) this.last.set(origin, (channels = new Map()));
    const last = channels.get(channel);
    if (last !== undefined && seq <= last) return false;
    channels.set(channel, seq);
    return true;
  }

  /** Forgets a channel this server no longer subscribes to (a connection's that left, a group's emptied). */
  forgetChannel(channel: string): void {
    for (const channels of this.last.values()) channels.delete(channel);
  }

  /**
   * Forgets a server that went away, after `ms` (a copy of its sends may still come, if it was
   * only cut off), unless `stillGone()` says it is back by then.
   */
  forgetLater(origin: string, ms: number, stillGone: () => boolean): void {
    setTimeout(() => {
      if (stillGone()) this.last.delete(origin);
    }, ms).unref();
  }
}
