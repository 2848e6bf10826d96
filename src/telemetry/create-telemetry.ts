import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";
import type { Target } from "../lifetime/target.js";
import type { LogWriter } from "../logger.js";
import { guardedMeter } from "./guarded-meter.js";
import { HubTelemetry } from "./hub-telemetry.js";
import { loadOpenTelemetryApi, type MeterProvider, type TracerProvider } from "./otel-api.js";
import { attributeNames as a, instrumentationScope, spanEvents } from "./telemetry-names.js";

/**
 * Where hubwire reports metrics and traces (`telemetry` of `HubServerOptions`). By default the
 * providers registered with `@opentelemetry/api` when the server is made: register the SDK first.
 *
 * @example
 * new HubServer({ telemetry: { meterProvider: new MeterProvider({ readers: [reader] }) } });
 */
export interface TelemetryOptions {
  /** An OpenTelemetry `MeterProvider`. Default: the global one. */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
  /** An OpenTelemetry `TracerProvider`. Default: the global one. */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
}

/**
 * The server's telemetry, or undefined when there is nothing to report to: `@opentelemetry/api`
 * is not installed, `telemetry` is `false`, or no SDK is registered (a meter provider that is the
 * API's no-op, a tracer provider with no delegate). Then no layer does any work for it. Its
 * instruments never throw: one that does is logged to `log` (see guardedMeter).
 */
export function createTelemetry(options: TelemetryOptions | false | undefined, log: LogWriter): HubTelemetry | undefined {
  if (options === false) return undefined;
  const api = loadOpenTelemetryApi();
  if (!api) return undefined;
  const meterProvider = (options?.meterProvider as MeterProvider | undefined) ?? api.metrics.getMeterProvider();
  const tracerProvider = (options?.tracerProvider as TracerProvider | undefined) ?? api.trace.getTracerProvider();
  const meter = meterProvider.getMeter(instrumentationScope);
  const metering = meter !== api.createNoopMeter();
  const tracing = !(tracerProvider instanceof api.ProxyTracerProvider) || hasDelegate(tracerProvider);
  if (!metering && !tracing) return undefined;
  return new HubTelemetry(api, guardedMeter(meter, log), tracing ? tracerProvider.getTracer(instrumentationScope) : undefined);
}

function hasDelegate(provider: TracerProvider): boolean {
  const proxy = provider as TracerProvider & { getDelegateTracer?(name: string): unknown };
  return proxy.getDelegateTracer?.(instrumentationScope) !== undefined;
}

/**
 * `lifetime` as the hub's clients see it: each send and client result asked inside a traced
 * call becomes an event of the call's span. Everything else goes straight to `lifetime`.
 */
export function tracedSends(telemetry: HubTelemetry, lifetime: HubLifetimeManager): HubLifetimeManager {
  const { api } = telemetry;
  const record = (event: string, target: string, method: string) => {
    const span = api.trace.getSpan(api.context.active());
    if (span?.isRecording()) span.addEvent(event, { [a.sendTarget]: target, [a.sendMethod]: method });
  };
  const send: HubLifetimeManager["send"] = (target: Target, method, args) => {
    record(spanEvents.send, target.kind, method);
    return lifetime.send(target, method, args);
  };
  const invokeConnection: HubLifetimeManager["invokeConnection"] = (connectionId, method, args, options) => {
    record(spanEvents.invokeClient, "connections", method);
    return lifetime.invokeConnection(connectionId, method, args, options);
  };
  return new Proxy(lifetime, {
    get(target, property) {
      if (property === "send") return send;
      if (property === "invokeConnection") return invokeConnection;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
