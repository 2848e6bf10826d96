import { context, propagation } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";

// The real OpenTelemetry SDK as an application sets it up, with in-memory ends: a metric reader
// the test collects from, and a span exporter that keeps every ended span.

/** A reader whose `collect()` the test calls (what a periodic reader or Prometheus does). */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface OpenTelemetrySdk {
  meterProvider: MeterProvider;
  tracerProvider: BasicTracerProvider;
  spans: InMemorySpanExporter;
  /** Every metric the SDK holds now, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  shutdown(): Promise<void>;
}

/** A meter provider of its own, with a reader the test collects from. */
export function startMeter(): Pick<OpenTelemetrySdk, "meterProvider" | "metrics"> {
  const reader = new CollectingReader();
  return {
    meterProvider: new MeterProvider({ readers: [reader] }),
    async metrics() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      return byName;
    },
  };
}

/** A meter provider and a tracer provider, with the context manager and W3C propagator made global. */
export function startSdk(): OpenTelemetrySdk {
  const { meterProvider, metrics } = startMeter();
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    meterProvider,
    tracerProvider,
    spans,
    metrics,
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
      contextManager.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The data point of `metric` whose attributes are exactly `attributes` (undefined if none). */
export function pointOf<T>(metric: MetricData | undefined, attributes: Record<string, unknown>): DataPoint<T> | undefined {
  const points = (metric?.dataPoints ?? []) as DataPoint<T>[];
  const wanted = JSON.stringify(sorted(attributes));
  return points.find((p) => JSON.stringify(sorted(p.attributes)) === wanted);
}

/** A counter's or gauge's value at `attributes`, 0 when it has none there. */
export function valueOf(metric: MetricData | undefined, attributes: Record<string, unknown>): number {
  return pointOf<number>(metric, attributes)?.value ?? 0;
}

/** A histogram's point at `attributes`. */
export function histogramAt(metric: MetricData | undefined, attributes: Record<string, unknown>): Histogram | undefined {
  if (metric && metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${metric.descriptor.name} is not a histogram`);
  return pointOf<Histogram>(metric, attributes)?.value;
}

function sorted(attributes: Record<string, unknown>): [string, unknown][] {
  return Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b));
}
