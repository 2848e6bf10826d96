import { requireIfInstalled } from "../optional-dependency.js";

// The parts of `@opentelemetry/api` hubwire uses, declared here: the package is an optional peer
// dependency, so no type hubwire publishes may name it (a project without it must still compile).

export type Attributes = Record<string, string | number | boolean | undefined>;

export interface Counter {
  add(value: number, attributes?: Attributes): void;
}
export interface Histogram {
  record(value: number, attributes?: Attributes): void;
}
export interface ObservableResult {
  observe(value: number, attributes?: Attributes): void;
}
export interface Observable {
  addCallback(callback: (result: ObservableResult) => void): void;
}
export interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}
export interface Meter {
  createHistogram(name: string, options?: InstrumentOptions): Histogram;
  createCounter(name: string, options?: InstrumentOptions): Counter;
  createUpDownCounter(name: string, options?: InstrumentOptions): Counter;
  createObservableGauge(name: string, options?: InstrumentOptions): Observable;
  createObservableCounter(name: string, options?: InstrumentOptions): Observable;
}
export interface MeterProvider {
  getMeter(name: string, version?: string): Meter;
}

/** Opaque: an OpenTelemetry context. */
export type Context = { readonly __otelContext?: never };

export interface Span {
  setAttribute(key: string, value: string | number | boolean): unknown;
  addEvent(name: string, attributes?: Attributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  isRecording(): boolean;
  end(): void;
}
export interface Tracer {
  startSpan(name: string, options?: { kind?: number; attributes?: Attributes }, context?: Context): Span;
}
export interface TracerProvider {
  getTracer(name: string, version?: string): Tracer;
}

export interface TextMapGetter {
  keys(carrier: Readonly<Record<string, string>>): string[];
  get(carrier: Readonly<Record<string, string>>, key: string): string | undefined;
}

export interface OpenTelemetryApi {
  metrics: { getMeterProvider(): MeterProvider };
  trace: {
    getTracerProvider(): TracerProvider;
    setSpan(context: Context, span: Span): Context;
    getSpan(context: Context): Span | undefined;
  };
  context: { active(): Context; with<R>(context: Context, fn: () => R): R };
  propagation: { extract(context: Context, carrier: Readonly<Record<string, string>>, getter: TextMapGetter): Context };
  ROOT_CONTEXT: Context;
  SpanKind: { SERVER: number; INTERNAL: number };
  SpanStatusCode: { ERROR: number };
  createNoopMeter(): Meter;
  ProxyTracerProvider: new () => TracerProvider & { getDelegate(): TracerProvider };
}

let loaded: OpenTelemetryApi | null | undefined;

/** `@opentelemetry/api` when it is installed beside hubwire, else undefined (looked for once). */
export function loadOpenTelemetryApi(): OpenTelemetryApi | undefined {
  if (loaded === undefined) loaded = requireIfInstalled<OpenTelemetryApi>("@opentelemetry/api") ?? null;
  return loaded ?? undefined;
}
