/** A flood is reported a line a period, with how many came, not a line an event. */
const reportPeriodMs = 10_000;

/**
 * Counts an event that may come in floods (a refused connection) and reports it at the first,
 * then at most once every 10 s while more come, with how many came since the last report.
 *
 * @example
 * const refusals = new PeriodicCount((refused) => log.write(transportLog.connectionsRefused, { refused }));
 * refusals.add();
 */
export class PeriodicCount {
  private total = 0;
  private sinceReport = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly report: (count: number) => void,
    /** Told of each event as it comes (the metrics count it). */
    private readonly counted?: (() => void) | undefined,
  ) {}

  /** Events counted since it was made. */
  get count(): number {
    return this.total;
  }

  add(): void {
    this.counted?.();
    this.total++;
    this.sinceReport++;
    if (this.timer === undefined) this.reportNow();
  }

  /** Reports what was counted and not reported yet (the server is closing). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sinceReport > 0) this.write();
  }

  /** Reports the events since the last report, and looks again a period later while there are any. */
  private reportNow(): void {
    if (this.sinceReport === 0) {
      this.timer = undefined;
      return;
    }
    this.write();
    this.timer = setTimeout(() => this.reportNow(), reportPeriodMs).unref();
  }

  private write(): void {
    this.report(this.sinceReport);
    this.sinceReport = 0;
  }
}
