/** Something checked once a second: keep-alives and timeouts. */
export interface HeartbeatSubscriber {
  onHeartbeat(now: number): void;
}

/**
 * One timer for every connection of a server instead of a timer per connection: idle connections
 * stay cheap, and the coarse clock it keeps (`now`) is cheaper to read on each send than Date.now().
 */
export class Heartbeat {
  now = Date.now();
  private readonly subscribers = new Set<HeartbeatSubscriber>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly intervalMs = 1000) {}

  add(subscriber: HeartbeatSubscriber): void {
    this.subscribers.add(subscriber);
    if (!this.timer) {
      this.now = Date.now();
      this.timer = setInterval(() => this.beat(), this.intervalMs);
      this.timer.unref();
    }
  }

  remove(subscriber: HeartbeatSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const now = (this.now = Date.now());
    for (const subscriber of this.subscribers) subscriber.onHeartbeat(now);
  }
}
