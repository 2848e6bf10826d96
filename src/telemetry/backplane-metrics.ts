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
    for (const { kind, name, unit, description, read } of figures) {
      const instrument = kind === "counter" ? meter.createObservableCounter(name, { unit, description }) : meter.createObservableGauge(name, { unit, description });
      instrument.addCallback(each(read));
    }
  }

  /** Reports `stats` of the scale-out hub named `hub` from now on. */
  observe(hub: string, stats: () => ScaleOutStats): void {
    this.hubs.push({ attributes: { [a.hub]: hub }, stats });
  }
}

/** One figure of a hub's scale-out stats, as an instrument. */
interface Figure {
  kind: "counter" | "gauge";
  name: string;
  unit: string;
  description: string;
  /** Undefined for a figure the hub does not have (crash recovery's, where it is off). */
  read: (stats: ScaleOutStats) => number | undefined;
}

const figures: readonly Figure[] = [
  { kind: "counter", name: m.backplanePublished, unit: "{message}", description: "Messages this server published to the other servers (the backplane took them).", read: (s) => s.published },
  { kind: "counter", name: m.backplaneReceived, unit: "{message}", description: "Messages this server received from the other servers (heartbeats not included).", read: (s) => s.received },
  { kind: "counter", name: m.backplaneUnreceived, unit: "{message}", description: "Published messages for a connection or user no server holds.", read: (s) => s.unreceived },
  { kind: "counter", name: m.backplaneDropped, unit: "{message}", description: "Messages the outbox dropped past its bounds while the backplane was away.", read: (s) => s.dropped },
  { kind: "counter", name: m.backplaneResent, unit: "{message}", description: "Messages this server sent again to servers whose own link to the backplane dropped.", read: (s) => s.resent },
  { kind: "counter", name: m.backplaneReplayed, unit: "{message}", description: "Messages other servers sent again to this one after its own link to the backplane dropped.", read: (s) => s.replayed },
  { kind: "gauge", name: m.outboxMessages, unit: "{message}", description: "Messages waiting in the outbox or in flight to the backplane.", read: (s) => s.waiting.messages },
  { kind: "gauge", name: m.outboxBytes, unit: "By", description: "Bytes of the messages waiting in the outbox or in flight to the backplane.", read: (s) => s.waiting.bytes },
  { kind: "gauge", name: m.outboxLag, unit: "s", description: "How long the oldest message waiting or in flight to the backplane has waited.", read: (s) => s.lagMs / 1000 },
  { kind: "gauge", name: m.recoveryKept, unit: "{connection}", description: "Connections of other servers this server keeps as their standby.", read: (s) => s.recovery?.kept },
  { kind: "gauge", name: m.recoveryRecoverable, unit: "{connection}", description: "Of those, the ones this server could take over now if their server died.", read: (s) => s.recovery?.recoverable },
  { kind: "counter", name: m.recoveryRecovered, unit: "{connection}", description: "Connections of dead servers this server took over.", read: (s) => s.recovery?.recovered },
  { kind: "counter", name: m.recoveryLost, unit: "{connection}", description: "Connections of dead servers this server kept but could not take over.", read: (s) => s.recovery?.lost },
];
