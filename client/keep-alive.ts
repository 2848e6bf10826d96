/** What the keep-alive needs from its connection. */
export interface KeepAliveHost {
  /** Sends a Ping. */
  ping(): void;
  /** The server has been silent past the timeout. */
  timedOut(): void;
}

/**
 * Pings a server that has heard nothing from us for `keepAliveMs`, and gives up on one silent for
 * `timeoutMs`. Not used on long polling, whose polls are their own keep-alive.
 */
export class KeepAlive {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSent = 0;
  private lastReceived = 0;

  constructor(
    private readonly host: KeepAliveHost,
    private readonly keepAliveMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.stop();
    this.lastSent = this.lastReceived = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceived >= this.timeoutMs) return this.host.timedOut();
      if (now - this.lastSent >= this.keepAliveMs) this.host.ping();
    }, Math.min(1000, this.keepAliveMs / 2, this.timeoutMs / 2));
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sent(): void {
    this.lastSent = Date.now();
  }

  received(): void {
    this.lastReceived = Date.now();
  }
}
