import { performance } from "node:perf_hooks";
import type { HubFilter, HubInvocationContext, HubLifetimeContext } from "../dispatch/hub-filter.js";
import type { HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import { failure, type HubTelemetry } from "./hub-telemetry.js";
import { isAsyncIterable, measuredStream } from "./measured-stream.js";
import type { Attributes, Context, Span, TextMapGetter } from "./otel-api.js";
import { attributeNames as a, lifecycleMethods, type InvocationOutcome } from "./telemetry-names.js";

const headerGetter: TextMapGetter = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * The outermost filter of a hub when telemetry is on: a span per method call (its parent the
 * trace context the client sent in the invocation's headers), `onConnected` and
 * `onDisconnected`, as ASP.NET Core makes them, and each call's duration and outcome. A filter
 * sees every call that reaches its method, streams and uploads included, and nothing else of
 * the hot path changes.
 */
export function telemetryFilter(telemetry: HubTelemetry, hub: string): HubFilter {
  const { api, tracer } = telemetry;
  const hubAttributes: Attributes = { [a.hub]: hub };
  // Per method and outcome, made once.
  const outcomes = new Map<HubMethodDescriptor, Map<string, Attributes>>();
  const attributesOf = (method: HubMethodDescriptor, outcome: InvocationOutcome, type?: string): Attributes => {
    let byOutcome = outcomes.get(method);
    if (!byOutcome) outcomes.set(method, (byOutcome = new Map()));
    const key = type === undefined ? outcome : `${outcome}:${type}`;
    let attributes = byOutcome.get(key);
    if (!attributes) {
      attributes = { [a.rpcService]: hub, [a.rpcMethod]: method.wireName, [a.outcome]: outcome };
      if (type !== undefined) attributes[a.errorType] = type;
      byOutcome.set(key, attributes);
    }
    return attributes;
  };

  const startSpan = (method: string, kind: number, parent: Context): Span | undefined =>
    tracer?.startSpan(
      `${hub}/${method}`,
      { kind, attributes: { [a.rpcSystem]: "signalr", [a.rpcService]: hub, [a.rpcMethod]: method } },
      parent,
    );

  const failed = (span: Span | undefined, error: unknown): { outcome: InvocationOutcome; type: string } => {
    const result = failure(error);
    if (span) {
      span.setAttribute(a.errorType, result.type);
      span.setStatus({ code: api.SpanStatusCode.ERROR });
    }
    return result;
  };

  const around = async <R>(method: string, run: () => Promise<R>): Promise<R> => {
    const active = api.context.active();
    const span = startSpan(method, api.SpanKind.INTERNAL, active);
    try {
      return await (span ? api.context.with(api.trace.setSpan(active, span), run) : run());
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span?.end();
    }
  };

  return {
    async invokeMethod(invocation: HubInvocationContext, next) {
      const started = performance.now();
      const { method } = invocation;
      // As in ASP.NET Core, a call's parent comes only from the client: without headers it starts a trace.
      const { headers } = invocation;
      const parent = tracer && headers ? api.propagation.extract(api.ROOT_CONTEXT, headers, headerGetter) : api.ROOT_CONTEXT;
      const span = startSpan(method.wireName, api.SpanKind.SERVER, parent);
      const uploads = method.uploadStreams.length;
      if (uploads > 0) telemetry.activeUploads.add(uploads, hubAttributes);
      const end = (outcome: InvocationOutcome, type?: string) => {
        if (uploads > 0) telemetry.activeUploads.add(-uploads, hubAttributes);
        span?.end();
        telemetry.invocationDuration.record((performance.now() - started) / 1000, attributesOf(method, outcome, type));
      };
      try {
        const result = await (span ? api.context.with(api.trace.setSpan(parent, span), () => next(invocation)) : next(invocation));
        if (!method.streaming || !isAsyncIterable(result)) {
          end("ok");
          return result;
        }
        telemetry.activeStreams.add(1, hubAttributes);
        return measuredStream(result, (fault) => {
          telemetry.activeStreams.add(-1, hubAttributes);
          if (!fault) return end("ok");
          const { outcome, type } = failed(span, fault.error);
          end(outcome, type);
        });
      } catch (error) {
        const { outcome, type } = failed(span, error);
        end(outcome, type);
        throw error;
      }
    },
    onConnected(context: HubLifetimeContext, next) {
      return around(lifecycleMethods.connected, () => next(context));
    },
    onDisconnected(context: HubLifetimeContext, error, next) {
      return around(lifecycleMethods.disconnected, () => next(context, error));
    },
    onAuthenticationRefreshed(context: HubLifetimeContext, next) {
      return around(lifecycleMethods.authenticationRefreshed, () => next(context));
    },
  };
}
