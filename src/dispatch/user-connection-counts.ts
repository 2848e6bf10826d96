import { PeriodicCount } from "../periodic-count.js";

/**
 * How many connections each user has to one hub on this server, against the hub's
 * `maximumConnectionsPerUser`: a connection counts from the handshake it passed (or its arrival
 * from another server, which is never refused) until it ends or moves away. So one user, however
 * many sockets they open, cannot take the connections a server holds for everyone. Nothing is
 * counted without a bound.
 */
export class UserConnectionCounts {
  private readonly counts = new Map<string, number>();
  private readonly refusals: PeriodicCount;

  constructor(
    /** The most connections one user may have to the hub here; null: no bound. */
    readonly maximum: number | null,
    /** Reports the refusals at the first, then once a period with how many came (see PeriodicCount). */
    report: (refused: number) => void,
    /** Told of each refusal (the metrics count it). */
    counted?: (() => void) | undefined,
  ) {
    this.refusals = new PeriodicCount(report, counted);
  }

  /** New connections refused since the hub was mapped. */
  get refused(): number {
    return this.refusals.count;
  }

  /**
   * Whether the user (undefined: anonymous, never bounded) may have one more connection; a
   * refusal is counted, and reported once a period.
   */
  admitsAnother(userId: string | undefined): boolean {
    if (this.maximum === null || userId === undefined || (this.counts.get(userId) ?? 0) < this.maximum) return true;
    this.refusals.add();
    return false;
  }

  added(userId: string | undefined): void {
    if (this.maximum === null || userId === undefined) return;
    this.counts.set(userId, (this.counts.get(userId) ?? 0) + 1);
  }

  removed(userId: string | undefined): void {
    if (this.maximum === null || userId === undefined) return;
    const count = (this.counts.get(userId) ?? 0) - 1;
    if (count > 0) this.counts.set(userId, count);
    else this.counts.delete(userId);
  }

  /** Reports what was refused and not reported yet (the hub is closing). */
  close(): void {
    this.refusals.close();
  }
}
