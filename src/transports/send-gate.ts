/**
 * The client-to-server POSTs of one SSE or long-polling connection, taken one at a time and in
 * the order they arrived, as ASP.NET Core's write lock takes them. A POST that waits its turn
 * has its body left unread, so waiting costs a socket and not the body; and only a bounded
 * number may wait (official clients send one at a time), the rest are refused at once.
 */
export class SendGate {
  private busy = false;
  private readonly waiting: Array<() => void> = [];

  constructor(
    /** POSTs that may wait behind the one being read; past it `enter` answers false. */
    private readonly maxWaiting: number,
  ) {}

  /** Resolves once it is this POST's turn; false (at once) when too many wait already. */
  enter(): Promise<boolean> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => this.waiting.push(() => resolve(true)));
  }

  /** The POST whose turn it was is done: the next one in line goes. */
  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}
