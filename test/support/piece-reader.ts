import type { PieceReader } from "../../src/transports/body-pieces.js";

/** What a POST's body is read in pieces for (see readBodyInPieces): a connection that takes data unless paused, and can end. */
export class PausableConnection implements PieceReader {
  receivingPaused = false;
  isClosed = false;
  private waiters: Array<() => void> = [];

  whenReceiving(): Promise<void> {
    return this.receivingPaused ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  resume(): void {
    this.receivingPaused = false;
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
