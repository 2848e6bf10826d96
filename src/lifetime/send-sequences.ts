/**
 * The last send delivered here from each other server, by its sequence number (SendMessage.seq).
 * Redis keeps one publisher's messages in order, so a number at or below the last is a copy: a
 * message its server published again after a publish that seemed to fail but did not.
 */
export class SendSequences {
  private readonly last = new Map<string, number>();

  /** Whether send `seq` of server `origin` is new here (and is then the last delivered). */
  accept(origin: string, seq: number | undefined): boolean {
    if (seq === undefined) return true;
    const last = this.last.get(origin);
    if (last !== undefined && seq <= last) return false;
    this.last.set(origin, seq);
    return true;
  }

  /**
   * Forgets a server that went away, after `ms` (a copy of its sends may still come, if it was
   * only cut off), unless `stillGone()` says it is back by then.
   */
  forgetLater(origin: string, ms: number, stillGone: () => boolean): void {
    setTimeout(() => {
      if (stillGone()) this.last.delete(origin);
    }, ms).unref();
  }
}
