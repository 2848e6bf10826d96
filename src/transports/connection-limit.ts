import { HubwireError } from "../errors.js";
import type { LogWriter } from "../logger.js";
import { PeriodicCount } from "../periodic-count.js";
import { transportLog } from "./transport-log.js";

/** What a server holds of its connections by default: see HubServerOptions.maximumConnections. */
export const defaultMaximumConnections = 100_000;

/**
 * The connections one server holds across its endpoints (negotiated, running or closing), against
 * `maximumConnections`. Past it a new connection is refused, so a flood of connections costs the
 * server a bounded amount of memory, and the clients it holds go on. A connection that moves in
 * from another server (a drain, crash recovery) is not refused: its client is one the cluster
 * holds already, and refusing it would lose what it was sent.
 */
export class ConnectionLimit {
  private readonly refusals: PeriodicCount;

  constructor(
    /** The most connections at once; null: no limit. */
    readonly maximum: number | null,
    /** How many the server holds now: read from its endpoints, so nothing here can drift from them. */
    private readonly count: () => number,
    log: LogWriter,
    /** Told of each refusal (the metrics count it). */
    counted?: (() => void) | undefined,
  ) {
    if (maximum !== null && !(Number.isInteger(maximum) && maximum > 0)) {
      throw new HubwireError("ERR_INVALID_OPTION", `maximumConnections must be a positive integer or null, not ${String(maximum)}.`);
    }
    this.refusals = new PeriodicCount((refused) => log.write(transportLog.connectionsRefused, { refused, maximumConnections: maximum }), counted);
  }

  /** New connections refused since the server started. */
  get refused(): number {
    return this.refusals.count;
  }

  /** Whether a new connection may be made now; a refusal is counted, and reported once a period. */
  admitsNew(): boolean {
    if (this.maximum === null || this.count() < this.maximum) return true;
    this.refusals.add();
    return false;
  }

  /** Reports what was refused and not reported yet (the server is closing). */
  close(): void {
    this.refusals.close();
  }
}
