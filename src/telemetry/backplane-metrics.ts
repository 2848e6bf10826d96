import type { ScaleOutStats } from "../lifetime/scale-out-lifetime-manager.js";
import type { Attributes, Meter, ObservableResult } from "./otel-api.js";
import { attributeNames as a, metricNames as m } from "./telemetry-names.js";

interface ObservedHub {
  readonly attributes: Attributes;
  readonly stats: () => ScaleOutStats;
}

/**
 * Observable instruments over the scale-out figures of a server's hubs (what `scaleOutStats`
 * returns), read only when the SDK collects: nothing is counted on the send path for them.
 */
export class BackplaneMetrics {
  private readonly hubs: ObservedHub[] = [];

  constructor(meter: Meter) {
    // A figure a hub does not have (crash recovery's, where it is off) is not observed for it.
    const each = (read: (stats: ScaleOutStats) => number | undefined) => (result: ObservableResult) => {
      for (const hub of this.hubs) {
        const value = read(hub.stats());
        if (value !== undefined) result.observe(value, hub.attributes);
      }
    };
    meter
      .createObservableCounter(m.backplanePublished, { unit: "{message}", description: "Messages this server published to the other servers (the backplane took them)." })
      .addCallback(each((s) => s.published));
    meter
      .createObservableCounter(m.backplaneReceived, { unit: "{message}", description: "Messages this server received from the other servers (heartbeats not included)." })
      .addCallback(each((s) => s.received));
    meter
      .createObservableCounter(m.backplaneUnreceived, { unit: "{message}", description: "Published messages for a connection or user no server holds." })
      .addCallback(each((s) => s.unreceived));
    meter
      .createObservableCounter(m.backplaneDropped, { unit: "{message}", description: "Messages the outbox dropped past its bounds while the backplane was away." })
      .addCallback(each((s) => s.dropped));
    meter
      .createObservableCounter(m.backplaneResent, { unit: "{message}", description: "Messages this server sent again to servers whose own link to the backplane dropped." })
      .addCallback(each((s) => s.resent));
    meter
      .createObservableCounter(m.backplaneReplayed, { unit: "{message}", description: "Messages other servers sent again to this one after its own link to the backplane dropped." })
      .addCallback(each((s) => s.replayed));
    meter
      .createObservableGauge(m.outboxMessages, { unit: "{message}", description: "Messages waiting in the outbox or in flight to the backplane." })
      .addCallback(each((s) => s.waiting.messages));
    meter
      .createObservableGauge(m.outboxBytes, { unit: "By", description: "Bytes of the messages waiting in the outbox or in flight to the backplane." })
      .addCallback(each((s) => s.waiting.bytes));
    meter
      .createObservableGauge(m.outboxLag, { unit: "s", description: "How long the oldest message waiting or in flight to the backplane has waited." })
      .addCallback(each((s) => s.lagMs / 1000));
    meter
      .createObservableGauge(m.recoveryKept, { unit: "{connection}", description: "Connections of other servers this server keeps as their standby." })
      .addCallback(each((s) => s.recovery?.kept));
    meter
      .createObservableGauge(m.recoveryRecoverable, { unit: "{connection}", description: "Of those, the ones this server could take over now if their server died." })
      .addCallback(each((s) => s.recovery?.recoverable));
    meter
      .createObservableCounter(m.recoveryRecovered, { unit: "{connection}", description: "Connections of dead servers this server took over." })
      .addCallback(each((s) => s.recovery?.recovered));
    meter
      .createObservableCounter(m.recoveryLost, { unit: "{connection}", description: "Connections of dead servers this server kept but could not take over." })
      .addCallback(each((s) => s.recovery?.lost));
  }

  /** Reports `stats` of the scale-out hub named `hub` from now on. */
  observe(hub: string, stats: () => ScaleOutStats): void {
    this.hubs.push({ attributes: { [a.hub]: hub }, stats });
  }
}
