/**
 * One connection's invocations against `maximumInvocationsPerSecondPerClient`: a token bucket
 * that holds up to `burst` invocations and refills at `perSecond`. An invocation takes a token
 * as it starts; with none there, it waits its turn (see InvocationRunner), so a client that calls
 * faster than the rate is slowed down to it, never refused, while one that calls in bursts
 * after quiet spells is not slowed at all.
 *
 * @example
 * const rate = new InvocationRate(10, 20, performance.now());
 * if (!rate.take(performance.now())) setTimeout(tryAgain, rate.msUntilNext(performance.now()));
 */
export class InvocationRate {
  /** Invocations that may start now; fractional while the bucket refills. */
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    /** A clock in ms (performance.now()): the bucket starts full. */
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes a token if one is there at `now`: whether an invocation may start. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Ms from `now` until a token is there (0 if one is). */
  msUntilNext(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  private refill(now: number): void {
    const elapsed = now - this.updatedAt;
    if (elapsed <= 0) return;
    this.updatedAt = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
  }
}
