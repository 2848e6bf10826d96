/**
 * What a timestamp field starts as, before its first number. The engine stores a field that has
 * only ever held numbers as a number of the object's own (a box of 16 bytes for a timestamp); one
 * that first held something else refers to a number, which many objects can share.
 */
export const unstamped = undefined as unknown as number;

/** Something checked once a second: keep-alives and timeouts. */
export interface HeartbeatSubscriber {
  onHeartbeat(now: number): void;
}

/**
 * The subscribers a heartbeat checks: a collection its owner keeps anyway (a hub's sessions),
 * so that a connection is not an entry in a second one (some 40 bytes per idle connection).
 */
export interface HeartbeatSubscribers {
  values(): Iterable<HeartbeatSubscriber>;
  readonly size: number;
}

/**
 * One timer for every connection of a server instead of a timer per connection: idle connections
 * stay cheap, and the coarse clock it keeps (`now`) is cheaper to read on each send than Date.now().
 * It runs while its subscribers are not empty: their owner says when it added or removed one.
 */
export class Heartbeat {
  /**
   * Connections stamp their sends and receives with this. It starts as undefined so that the
   * engine keeps it, and the fields stamped from it, as references to one number rather than a
   * number boxed in each object: connections stamped in the same beat share this one number
   * (16 bytes each otherwise; see {@link unstamped}).
   */
  now: number = unstamped;
  private timer: ReturnType<typeof setInterval> | undefined;

  /**
   * `subscriberThrew` is told of a subscriber whose check threw (its owner ends it): the beat
   * runs in a timer, where a throw would end the process, and the others are still checked.
   */
  constructor(
    private readonly subscribers: HeartbeatSubscribers,
    private readonly intervalMs: number,
    private readonly subscriberThrew: (subscriber: HeartbeatSubscriber, error: unknown) => void,
  ) {
    this.now = Date.now();
  }

  /**
   * The time, for a connection being made: `now` while the clock runs, and read afresh while it
   * is stopped (no connection for a while), so that the new connection's timeouts count from now.
   */
  current(): number {
    return this.timer ? this.now : (this.now = Date.now());
  }

  /** A subscriber was added: the clock runs. */
  added(): void {
    if (this.timer) return;
    this.now = Date.now();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  /** A subscriber was removed: the clock stops once none is left. */
  removed(): void {
    if (this.subscribers.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const now = (this.now = Date.now());
    for (const subscriber of this.subscribers.values()) {
      try {
        subscriber.onHeartbeat(now);
      } catch (error) {
        this.threw(subscriber, error);
      }
    }
  }

  private threw(subscriber: HeartbeatSubscriber, error: unknown): void {
    try {
      this.subscriberThrew(subscriber, error);
    } catch {
      // Its owner could not end it either: the beat still goes on for the others.
    }
  }
}
