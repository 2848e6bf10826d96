import type { HubContext, Logger } from "../../src/index.js";
import type { AuctionStore } from "./auction-store.js";
import type { AuctionClient } from "./auction-types.js";

/** The hub group of a lot's watchers. */
export function lotGroup(lotId: string): string {
  return `lot:${lotId}`;
}

/** How often each server asks the store for lots past their end. */
export const closeCheckMs = 200;

/**
 * Closes lots when their time is up, on every server at once: the store hands each closed lot
 * to one server only, which tells everyone and the winner (every tab, on every server).
 */
export class LotCloser {
  private readonly timer: ReturnType<typeof setInterval>;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: AuctionStore,
    private readonly hub: HubContext<AuctionClient>,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => {
      this.running ??= this.closeDue().finally(() => (this.running = undefined));
    }, closeCheckMs);
  }

  private async closeDue(): Promise<void> {
    try {
      for (const result of await this.store.closeDue()) {
        await this.hub.clients.all.lotClosed(result);
        if (result.winner) await this.hub.clients.user(result.winner).won(result.lot);
      }
    } catch (error) {
      this.logger.warn("auction: closing lots failed; trying again", { error: String(error) });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
