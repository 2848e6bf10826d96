/**
 * Counts numbered messages as they arrive: how many distinct ones, how many arrived twice, and a
 * promise for the moment a given number of distinct ones is in (no polling, no sleeps).
 */
export class Tally {
  private readonly seen = new Set<number>();
  duplicates = 0;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  record(n: number): void {
    if (this.seen.has(n)) {
      this.duplicates++;
      return;
    }
    this.seen.add(n);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.seen.size < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  get distinct(): number {
    return this.seen.size;
  }

  /** The numbers from 1 to `total` that never arrived. */
  missing(total: number): number[] {
    const missing: number[] = [];
    for (let n = 1; n <= total; n++) if (!this.seen.has(n)) missing.push(n);
    return missing;
  }

  /** Resolves once `count` distinct messages have arrived. */
  reached(count: number): Promise<void> {
    if (this.seen.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}
