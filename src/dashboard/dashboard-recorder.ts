import { performance } from "node:perf_hooks";
import { callHubMethod, type FilterPipelines, type HubInvocationContext } from "../dispatch/hub-filter.js";
import type { HubObserver } from "../dispatch/hub-runtime.js";
import type { HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import { failure } from "../telemetry/hub-telemetry.js";
import { isAsyncIterable, measuredStream } from "../telemetry/measured-stream.js";
import { WindowedHistogram } from "./latency-histogram.js";
import { CallRing, RecentCallsByConnection, Ring, type RecentCall } from "./recent-calls.js";

/** How much the dashboard remembers; every field bounds a structure, whatever the traffic. */
export interface DashboardLimits {
  /** Calls the server-wide feed keeps. Default 20. */
  recentCalls: number;
  /** Connections whose own recent calls are kept (those that called last). Default 256. */
  trackedConnections: number;
  /** Calls kept for each of them. Default 10. */
  callsPerConnection: number;
  /** Connects and disconnects the feed keeps. Default 20. */
  recentConnections: number;
  /** Groups listed per hub, the largest. Default 10. */
  topGroups: number;
  /** Latency percentiles cover the calls of the last one to two of these, in ms. Default 60 000. */
  latencyWindow: number;
}

export const defaultDashboardLimits: DashboardLimits = {
  recentCalls: 20,
  trackedConnections: 256,
  callsPerConnection: 10,
  recentConnections: 20,
  topGroups: 10,
  latencyWindow: 60_000,
};

/** One method's figures since the server started, and its latencies of late. */
export class MethodFigures {
  calls = 0;
  hubExceptions = 0;
  errors = 0;
  readonly latency: WindowedHistogram;

  constructor(
    readonly name: string,
    windowMs: number,
  ) {
    this.latency = new WindowedHistogram(windowMs);
  }
}

export interface ConnectionEvent {
  kind: "connected" | "disconnected";
  hub: string;
  connectionId: string;
  user: string | undefined;
  transport: string;
  at: number;
}

/**
 * What the dashboard learns from calls and connection events, through the filter pipeline
 * (HubRuntime.observe) of each hub once a dashboard is mounted, so a server without one pays
 * nothing. Everything it keeps is bounded by DashboardLimits and by the hubs' methods.
 */
export class DashboardRecorder {
  readonly recentCalls: CallRing;
  readonly callsByConnection: RecentCallsByConnection;
  readonly recentConnections: Ring<ConnectionEvent>;
  /** By hub name, then by method (the descriptor's own, so a client's spelling adds nothing). */
  private readonly methods = new Map<string, Map<HubMethodDescriptor, MethodFigures>>();

  constructor(readonly limits: DashboardLimits) {
    this.recentCalls = new CallRing(limits.recentCalls);
    this.callsByConnection = new RecentCallsByConnection(limits.trackedConnections, limits.callsPerConnection);
    this.recentConnections = new Ring(limits.recentConnections);
  }

  /** The figures of each method of `hub` that was called. */
  methodsOf(hub: string): Iterable<MethodFigures> {
    return this.methods.get(hub)?.values() ?? [];
  }

  private ended(hub: string, figures: MethodFigures, connectionId: string, started: number, outcome: RecentCall["outcome"]): void {
    const ms = performance.now() - started;
    const at = Date.now();
    figures.calls++;
    if (outcome === "hub_exception") figures.hubExceptions++;
    else if (outcome === "error") figures.errors++;
    figures.latency.record(ms, at);
    this.recentCalls.record(hub, figures.name, connectionId, at, ms, outcome);
    this.callsByConnection.record(hub, figures.name, connectionId, at, ms, outcome);
  }

  /**
   * What records the calls and connections of the hub named `hub`: a wrapper of its method
   * calls that keeps a synchronous call synchronous (no promise, no microtask: the reply still
   * leaves with the read that brought the call), and a filter around onConnected and
   * onDisconnected.
   */
  observerFor(hub: string): HubObserver {
    let byMethod = this.methods.get(hub);
    if (!byMethod) this.methods.set(hub, (byMethod = new Map()));
    const figuresOf = (method: HubMethodDescriptor): MethodFigures => {
      let figures = byMethod.get(method);
      if (!figures) byMethod.set(method, (figures = new MethodFigures(method.wireName, this.limits.latencyWindow)));
      return figures;
    };
    const event = (kind: ConnectionEvent["kind"], context: { connectionId: string; userIdentifier: string | undefined; transport: string }) =>
      this.recentConnections.push({ kind, hub, connectionId: context.connectionId, user: context.userIdentifier, transport: context.transport, at: Date.now() });
    const wrapInvoke = (inner: FilterPipelines["invoke"]) => (invocation: HubInvocationContext): unknown => {
      const started = performance.now();
      const { method } = invocation;
      let result: unknown;
      try {
        result = inner ? inner(invocation) : callHubMethod(invocation.hub, method, invocation.arguments);
      } catch (error) {
        this.ended(hub, figuresOf(method), invocation.context.connectionId, started, failure(error).outcome);
        throw error;
      }
      if (!method.streaming && !isThenable(result)) {
        // The common case, kept free of closures and promises.
        this.ended(hub, figuresOf(method), invocation.context.connectionId, started, "ok");
        return result;
      }
      const { connectionId } = invocation.context;
      const ended = (outcome: RecentCall["outcome"]) => this.ended(hub, figuresOf(method), connectionId, started, outcome);
      const failed = (error: unknown): never => {
        ended(failure(error).outcome);
        throw error;
      };
      if (method.streaming) {
        // A stream is over when its reader is done with it; a method may return a promise of its stream.
        const measured = (value: unknown) =>
          isAsyncIterable(value) ? measuredStream(value, (fault) => ended(fault ? failure(fault.error).outcome : "ok")) : value;
        return isThenable(result) ? Promise.resolve(result).then(measured, failed) : measured(result);
      }
      return Promise.resolve(result).then((value) => {
        ended("ok");
        return value;
      }, failed);
    };
    return {
      wrapInvoke,
      lifecycle: {
        onConnected: async (context, next) => {
          await next(context);
          event("connected", context.context);
        },
        onDisconnected: async (context, error, next) => {
          try {
            await next(context, error);
          } finally {
            this.callsByConnection.forget(context.context.connectionId);
            event("disconnected", context.context);
          }
        },
      },
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}
