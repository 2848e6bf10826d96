/**
 * Latencies in a fixed number of buckets: memory is the same after one call or a billion, and a
 * percentile is read from the buckets (its bucket's upper bound, within one bucket's width,
 * about 19% here). Buckets grow by 2^(1/4) from 10 µs; the last holds everything past ~100 s.
 */
export class LatencyHistogram {
  static readonly bucketCount = 96;
  private static readonly firstBound = 0.01;
  private static readonly growth = Math.SQRT2 ** 0.5;
  /** The upper bound of each bucket, in ms. */
  static readonly bounds: readonly number[] = Array.from(
    { length: LatencyHistogram.bucketCount },
    (_, i) => LatencyHistogram.firstBound * LatencyHistogram.growth ** i,
  );
  private static readonly logGrowth = Math.log(LatencyHistogram.growth);

  readonly counts = new Uint32Array(LatencyHistogram.bucketCount);
  count = 0;

  record(ms: number): void {
    this.counts[LatencyHistogram.bucketOf(ms)]!++;
    this.count++;
  }

  /** Adds another histogram's counts to this one. */
  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
  }

  clear(): void {
    this.counts.fill(0);
    this.count = 0;
  }

  /** The latency `q` (0 to 1) of the calls are at or below, in ms; undefined with no calls. */
  percentile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return LatencyHistogram.bounds[i]!;
    }
    return LatencyHistogram.bounds[LatencyHistogram.bucketCount - 1]!;
  }

  static bucketOf(ms: number): number {
    if (!(ms > LatencyHistogram.firstBound)) return 0;
    const i = Math.ceil(Math.log(ms / LatencyHistogram.firstBound) / LatencyHistogram.logGrowth - 1e-9);
    return i < LatencyHistogram.bucketCount ? i : LatencyHistogram.bucketCount - 1;
  }
}

/**
 * Percentiles of the recent past: two histograms that take turns, each covering `windowMs`, so
 * a read covers between one and two windows of calls and forgets anything older.
 */
export class WindowedHistogram {
  private current = new LatencyHistogram();
  private previous = new LatencyHistogram();
  private readonly merged = new LatencyHistogram();
  private turnedAt: number;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.turnedAt = now();
  }

  /** `now`: the time of the call, when the caller has it (one clock read less). */
  record(ms: number, now = this.now()): void {
    this.turn(now);
    this.current.record(ms);
  }

  /** The p50, p95 and p99 of the calls of the last one to two windows, in ms. */
  percentiles(): { p50: number | undefined; p95: number | undefined; p99: number | undefined } {
    this.turn();
    const merged = this.merged;
    merged.clear();
    merged.add(this.previous);
    merged.add(this.current);
    return { p50: merged.percentile(0.5), p95: merged.percentile(0.95), p99: merged.percentile(0.99) };
  }

  private turn(now = this.now()): void {
    if (now - this.turnedAt < this.windowMs) return;
    const old = this.previous;
    old.clear();
    // Past two windows with no call, what the previous one held is too old too.
    if (now - this.turnedAt >= 2 * this.windowMs) this.current.clear();
    this.previous = this.current;
    this.current = old;
    this.turnedAt = now;
  }
}
