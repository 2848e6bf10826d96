import type { HubCallerContext } from "../hubs/hub-context-types.js";
import type { HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import type { Hub } from "../hubs/hub.js";

/** One call on its way through the filters to its hub method. */
export interface HubInvocationContext {
  /** The hub instance the method runs on. */
  readonly hub: Hub<any>;
  /** The caller (the hub's `context`). */
  readonly context: HubCallerContext;
  /** The method called; `method.wireName` is the name clients use. */
  readonly method: HubMethodDescriptor;
  /** What the method is called with, upload streams in their parameter positions. */
  readonly arguments: readonly unknown[];
  /** The invocation message's headers, as the client sent them (W3C trace context, for one). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A connection's onConnected, onDisconnected or onAuthenticationRefreshed on its way through the filters. */
export interface HubLifetimeContext {
  readonly hub: Hub<any>;
  readonly context: HubCallerContext;
}

/**
 * Code around every hub method call and connection lifecycle event of a hub, as ASP.NET Core's
 * `IHubFilter`: logging, validation, rate limits, error mapping. Each method gets `next`, which
 * runs the following filters and then the hub; not calling it skips them. A filter may pass
 * `next` a changed context (`{ ...invocation, arguments }`), return another result, or throw:
 * a throw fails the call as if the method had thrown (a `HubException` text reaches the client).
 *
 * Filters on the server's options run first, outermost, then the hub's, each list in order.
 *
 * @example
 * const timing: HubFilter = {
 *   async invokeMethod(invocation, next) {
 *     const started = performance.now();
 *     try { return await next(invocation); }
 *     finally { log(invocation.method.wireName, performance.now() - started); }
 *   },
 * };
 * new HubServer({ filters: [timing] });
 */
export interface HubFilter {
  /** Around a hub method call; returns its result (for a streaming method, the stream). */
  invokeMethod?(invocation: HubInvocationContext, next: (invocation: HubInvocationContext) => Promise<unknown>): unknown;
  /** Around the hub's onConnected; a throw closes the connection with an error. */
  onConnected?(context: HubLifetimeContext, next: (context: HubLifetimeContext) => Promise<void>): void | Promise<void>;
  /** Around the hub's onDisconnected; `error` is set when the connection ended abnormally. */
  onDisconnected?(
    context: HubLifetimeContext,
    error: Error | undefined,
    next: (context: HubLifetimeContext, error: Error | undefined) => Promise<void>,
  ): void | Promise<void>;
  /** Around the hub's onAuthenticationRefreshed (hubwire's own: ASP.NET Core's filters have none); a throw is logged. */
  onAuthenticationRefreshed?(context: HubLifetimeContext, next: (context: HubLifetimeContext) => Promise<void>): void | Promise<void>;
}

/** The filters of a hub composed once, when it is mapped. */
export interface FilterPipelines {
  /** Absent when no filter wraps invocations: the method is then called directly, with no promise. */
  /** A promise from filters; an observer's wrapper (HubRuntime.observe) may give a synchronous method's result as is. */
  readonly invoke: ((invocation: HubInvocationContext) => unknown) | undefined;
  readonly connected: (context: HubLifetimeContext) => Promise<void>;
  readonly disconnected: (context: HubLifetimeContext, error: Error | undefined) => Promise<void>;
  readonly authenticationRefreshed: (context: HubLifetimeContext) => Promise<void>;
}

/** Calls a hub method (what the last `next` does). */
export function callHubMethod(hub: Hub<any>, method: HubMethodDescriptor, args: readonly unknown[]): unknown {
  return (hub as unknown as Record<string | symbol, (...args: unknown[]) => unknown>)[method.propertyKey]!(...args);
}

/** Composes `filters` (the first outermost). Each step is async, so a filter's synchronous throw rejects its `next`. */
export function composeFilters(filters: readonly HubFilter[]): FilterPipelines {
  let invoke: ((invocation: HubInvocationContext) => Promise<unknown>) | undefined;
  let connected: FilterPipelines["connected"] = async (context) => context.hub.onConnected();
  let disconnected: FilterPipelines["disconnected"] = async (context, error) => context.hub.onDisconnected(error);
  let authenticationRefreshed: FilterPipelines["authenticationRefreshed"] = async (context) => context.hub.onAuthenticationRefreshed();
  for (const filter of [...filters].reverse()) {
    if (filter.invokeMethod) {
      const next = invoke ?? (async (invocation: HubInvocationContext) => callHubMethod(invocation.hub, invocation.method, invocation.arguments));
      invoke = async (invocation) => filter.invokeMethod!(invocation, next);
    }
    if (filter.onConnected) {
      const next = connected;
      connected = async (context) => filter.onConnected!(context, next);
    }
    if (filter.onDisconnected) {
      const next = disconnected;
      disconnected = async (context, error) => filter.onDisconnected!(context, error, next);
    }
    if (filter.onAuthenticationRefreshed) {
      const next = authenticationRefreshed;
      authenticationRefreshed = async (context) => filter.onAuthenticationRefreshed!(context, next);
    }
  }
  return { invoke, connected, disconnected, authenticationRefreshed };
}
