import type { LogWriter } from "../logger.js";
import type { Attributes, Counter, Histogram, InstrumentOptions, Meter, Observable, ObservableResult } from "./otel-api.js";
import { telemetryLog } from "./telemetry-log.js";

/**
 * `meter` whose instruments never throw into hubwire. They are called from socket listeners and
 * timers, where a throw would end the process: an instrument that throws (a custom meter, a bug
 * in an SDK or its exporter) loses that recording, and says so in the log the first time only,
 * as it may throw for every message. Wrapped once, when the instruments are made: recording pays
 * one call more and allocates nothing, and a server without telemetry pays nothing.
 */
export function guardedMeter(meter: Meter, log: LogWriter): Meter {
  return {
    createHistogram: (name, options) => new GuardedHistogram(name, log, meter.createHistogram(name, options)),
    createCounter: (name, options) => new GuardedCounter(name, log, meter.createCounter(name, options)),
    createUpDownCounter: (name, options) => new GuardedCounter(name, log, meter.createUpDownCounter(name, options)),
    createObservableGauge: (name: string, options?: InstrumentOptions) => new GuardedObservable(name, log, meter.createObservableGauge(name, options)),
    createObservableCounter: (name: string, options?: InstrumentOptions) => new GuardedObservable(name, log, meter.createObservableCounter(name, options)),
  };
}

abstract class GuardedInstrument {
  private reported = false;

  constructor(
    private readonly name: string,
    private readonly log: LogWriter,
  ) {}

  protected threw(error: unknown): void {
    if (this.reported) return;
    this.reported = true;
    this.log.write(telemetryLog.instrumentThrew, { instrument: this.name, error });
  }
}

class GuardedCounter extends GuardedInstrument implements Counter {
  constructor(
    name: string,
    log: LogWriter,
    private readonly inner: Counter,
  ) {
    super(name, log);
  }

  add(value: number, attributes?: Attributes): void {
    try {
      this.inner.add(value, attributes);
    } catch (error) {
      this.threw(error);
    }
  }
}

class GuardedHistogram extends GuardedInstrument implements Histogram {
  constructor(
    name: string,
    log: LogWriter,
    private readonly inner: Histogram,
  ) {
    super(name, log);
  }

  record(value: number, attributes?: Attributes): void {
    try {
      this.inner.record(value, attributes);
    } catch (error) {
      this.threw(error);
    }
  }
}

class GuardedObservable extends GuardedInstrument implements Observable {
  constructor(
    name: string,
    log: LogWriter,
    private readonly inner: Observable,
  ) {
    super(name, log);
  }

  addCallback(callback: (result: ObservableResult) => void): void {
    try {
      this.inner.addCallback(callback);
    } catch (error) {
      this.threw(error);
    }
  }
}
