/** How long after a failed publish (or a shard's connection made or lost) a channel's receivers are expected back. */
const graceMs = 5_000;
/** Channels whose receiver count is remembered; past it the least recently published are forgotten. */
const rememberedChannels = 10_000;

/**
 * On a Redis Cluster, a shard that restarts comes back with no subscriptions: each server's
 * subscriber makes its own again, on its own schedule. A publish that gets through before they
 * all have is lost to the late ones, and nothing fails. So for `graceMs` after the last failed
 * publish, or the last time the publisher's connection to a shard ended or was made (a restart
 * too short for any publish to fail), a publish that reaches fewer receivers than its channel
 * had before counts as failed too: the outbox holds it and sends it again once they are back
 * (or once the grace is over: a server may really have left).
 */
export class ResubscribeGuard {
  private readonly receivers = new Map<string, number>();
  private lastFailure = -Infinity;

  failed(): void {
    this.lastFailure = Date.now();
  }

  /** Whether `count` receivers on `channel` is fewer than it had, within the grace after a failure. */
  missesReceivers(channel: string, count: number): boolean {
    const before = this.receivers.get(channel);
    if (before !== undefined && count < before && Date.now() - this.lastFailure < graceMs) return true;
    this.receivers.delete(channel); // re-inserted last: the map forgets the least recently published
    this.receivers.set(channel, count);
    if (this.receivers.size > rememberedChannels) this.receivers.delete(this.receivers.keys().next().value!);
    return false;
  }
}
