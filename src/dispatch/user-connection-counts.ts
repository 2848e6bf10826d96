/**
 * How many connections each user has to one hub on this server, against the hub's
 * `maximumConnectionsPerUser`: a connection counts from the handshake it passed (or its arrival
 * from another server, which is never refused) until it ends or moves away. So one user, however
 * many sockets they open, cannot take the connections a server holds for everyone. Nothing is
 * counted without a bound.
 */
export class UserConnectionCounts {
  private readonly counts = new Map<string, number>();

  constructor(
    /** The most connections one user may have to the hub here; null: no bound. */
    readonly maximum: number | null,
  ) {}

  /** Whether the user (undefined: anonymous, never bounded) may have one more connection. */
  admits(userId: string | undefined): boolean {
    return this.maximum === null || userId === undefined || (this.counts.get(userId) ?? 0) < this.maximum;
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
}
