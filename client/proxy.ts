import type { CallOptions } from "./call-options.js";
import type { HubConnection } from "./hub-connection.js";
import type { HubStream } from "./hub-stream.js";

/** Members every hub has that are not callable from the wire. */
type HubBaseMember = "context" | "clients" | "groups" | "signal" | "onConnected" | "onDisconnected";

/** The methods of a hub class (its instance type), without the Hub base members. */
export type HubMethods<THub> = {
  [K in Exclude<keyof THub, HubBaseMember> as THub[K] extends (...args: any[]) => unknown ? K : never]: THub[K];
};

type WithOptions<A extends unknown[]> = [...A] | [...A, CallOptions];

/** A hub method as the client calls it: a stream for async iterables, else a promise of the result. */
export type ProxyMethod<F> = F extends (...args: infer A) => infer R
  ? R extends AsyncIterable<infer T>
    ? (...args: WithOptions<A>) => HubStream<T>
    : (...args: WithOptions<A>) => Promise<Awaited<R>>
  : never;

/**
 * Names a proxy keeps for itself: `send` holds the fire-and-forget forms, and `then` is never
 * there (a proxy is not a promise). A hub method with one of these names is not a call on the
 * proxy (`connection.invoke` reaches it; generated clients name it by its wire name instead).
 */
export type ProxyOwnName = "send" | "then";

/** Typed calls of a hub: `proxy.name(…)` awaits the result, `proxy.send.name(…)` fires and forgets. */
export type HubProxy<THub> = { [K in Exclude<keyof HubMethods<THub>, ProxyOwnName>]: ProxyMethod<HubMethods<THub>[K]> } & {
  readonly send: {
    [K in Exclude<keyof HubMethods<THub>, "then">]: HubMethods<THub>[K] extends (...args: infer A) => unknown ? (...args: A) => Promise<void> : never;
  };
};

/** Handlers for a hub's `TClient` functions; a handler's return value answers a client-result call. */
export type ClientHandlers<TClient> = {
  [K in keyof TClient]?: TClient[K] extends (...args: infer A) => infer R ? (...args: A) => R | Promise<Awaited<R>> : never;
};

/** How one method goes on the wire: its name there, and whether it streams. */
export interface MethodSpec {
  name?: string;
  stream?: boolean;
}

/**
 * Typed calls of a hub, from its class type (imported with `import type`, so no server code
 * reaches the client). Wire names default to the method names (hub lookup ignores case);
 * `methods` tells which stream and which have other wire names. Generated proxies fill it in.
 *
 * @example
 * const chat = createHubProxy<ChatHub>(connection, { ticks: { stream: true } });
 * await chat.post("hello");                         // a Promise of the result
 * for await (const t of chat.ticks()) console.log(t);
 */
export function createHubProxy<THub>(
  connection: HubConnection,
  methods: { [K in keyof HubMethods<THub>]?: MethodSpec } = {},
): HubProxy<THub> {
  const specs = methods as Record<string, MethodSpec | undefined>;
  const send = new Proxy(
    {},
    {
      get: (_target, property) =>
        typeof property === "string" && property !== "then" ? (...args: unknown[]) => connection.send(specs[property]?.name ?? property, ...args) : undefined,
    },
  );
  return new Proxy({} as HubProxy<THub>, {
    get(target, property) {
      // Members added to the proxy (a generated client's `on`) win over wire names.
      if (Object.prototype.hasOwnProperty.call(target, property)) return (target as Record<string | symbol, unknown>)[property];
      if (property === "send") return send;
      if (typeof property !== "string" || property === "then") return undefined;
      const spec = specs[property];
      const wireName = spec?.name ?? property;
      return spec?.stream
        ? (...args: unknown[]) => connection.stream(wireName, ...args)
        : (...args: unknown[]) => connection.invoke(wireName, ...args);
    },
  });
}

/** Registers handlers for a hub's client functions; returns a function that removes them all. */
export function registerHandlers<TClient>(connection: HubConnection, handlers: ClientHandlers<TClient>): () => void {
  const removers = Object.entries(handlers)
    .filter(([, handler]) => typeof handler === "function")
    .map(([name, handler]) => connection.on(name, handler as (...args: unknown[]) => unknown));
  return () => removers.forEach((remove) => remove());
}
