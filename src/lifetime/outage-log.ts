import type { LogFields, LogWriter } from "../logger.js";
import type { OutboxDrops } from "./backplane-outbox.js";
import { lifetimeLog } from "./lifetime-log.js";

/**
 * What a hub logs of its outbox's outages: one warning when it starts holding, however many
 * reasons follow, and one line when it delivers again, with how long it held and what.
 */
export class OutageLog {
  /** When the outbox started holding, while it holds. */
  private since: number | undefined;

  constructor(
    private readonly log: LogWriter,
    private readonly hub: string,
  ) {}

  /** The outbox holds: said with `fields` (why) at the first of an outage. */
  holding(fields: LogFields): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.log.write(lifetimeLog.outboxHolding, { hub: this.hub, ...fields });
  }

  /** The outbox delivers again what `waited`: a warning with the counts if it dropped any. */
  resumed(waited: number, dropped: OutboxDrops): void {
    const fields = { hub: this.hub, outageMs: Date.now() - (this.since ?? Date.now()), messages: waited };
    this.since = undefined;
    if (dropped.messages > 0) this.log.write(lifetimeLog.outboxDropped, { ...fields, dropped: dropped.messages, droppedBytes: dropped.bytes });
    else this.log.write(lifetimeLog.outboxResumed, fields);
  }
}
