/**
 * Latency samples in microseconds. Keeps at most `capacity` samples (a uniform reservoir past
 * that), so a long run costs bounded memory and the loader does not pay for it.
 */
export class Samples {
  private readonly values: Float64Array;
  private count = 0;
  private seen = 0;

  constructor(private readonly capacity = 500_000) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.seen++;
    if (this.count < this.capacity) {
      this.values[this.count++] = value;
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < this.capacity) this.values[slot] = value;
  }

  get size(): number {
    return this.seen;
  }

  /** The p-th percentile (0..100), nearest rank. */
  percentiles(...ps: number[]): number[] {
    if (this.count === 0) return ps.map(() => Number.NaN);
    const sorted = this.values.slice(0, this.count).sort();
    return ps.map((p) => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))]!);
  }
}
