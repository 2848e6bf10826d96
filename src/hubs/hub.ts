import type { ConnectionManager, GroupManager, HubCallerClients } from "./client-proxy.js";
import type { HubCallerContext } from "./hub-context-types.js";

/** Where the dispatcher puts the running invocation's scope on a hub instance. */
export const invocationScopeKey = Symbol.for("hubwire:invocation-scope");

/** What a hub instance knows of the call it serves. */
export interface InvocationScopeView {
  readonly signal: AbortSignal;
}

/** Where the dispatcher puts the connection's side of things (its `clients`) on a hub instance. */
export const callerKey = Symbol.for("hubwire:caller");

/**
 * What a hub instance reads its `clients` and `context` from: each made on first use, so a
 * connection whose hub never sends, or never reads its context, holds none.
 */
export interface CallerView {
  readonly clients: unknown;
  readonly context: HubCallerContext;
}

/**
 * The base class of every hub. A new instance serves each invocation (and each onConnected /
 * onDisconnected), so keep state in services or in `context.items`, not in fields.
 *
 * @example
 * interface ChatClient { message(from: string, text: string): void }
 *
 * @HubClass()
 * class ChatHub extends Hub<ChatClient> {
 *   @HubMethod("Send")
 *   async send(text: string) {
 *     await this.clients.all.message(this.context.userIdentifier ?? "anonymous", text);
 *   }
 * }
 */
export abstract class Hub<TClient = Record<string, (...args: never[]) => unknown>> {
  // Set by the dispatcher before any method runs; `declare` keeps class-field semantics from resetting them.
  declare readonly groups: GroupManager;
  /** Finds a user's connections, and ends connections (one, a user's, a group's or all), on every server (the caller's own: `context.close()`). */
  declare readonly connections: ConnectionManager;
  declare readonly [invocationScopeKey]: InvocationScopeView;
  declare readonly [callerKey]: CallerView;

  /** The caller's connection: its id, user, request, items; the same object in every call of the connection. */
  get context(): HubCallerContext {
    return this[callerKey].context;
  }

  /** The caller, all clients, the others, groups and users: whom a message can go to. */
  get clients(): HubCallerClients<TClient> {
    return this[callerKey].clients as HubCallerClients<TClient>;
  }

  /**
   * Aborted when the client cancels this invocation (a stream's subscriber disposes, or a
   * hubwire client cancels an `invoke`) or the connection ends. Pass it to whatever the method
   * awaits; in onConnected / onDisconnected it is the connection's signal.
   *
   * @example
   * @HubMethod() async *ticks() { while (!this.signal.aborted) { yield Date.now(); await sleep(1000, this.signal); } }
   */
  get signal(): AbortSignal {
    return this[invocationScopeKey].signal;
  }

  /** Runs when a connection has completed its handshake, before any of its invocations. */
  onConnected(): void | Promise<void> {}

  /** Runs when a connection has ended; `error` is set when it ended abnormally. */
  onDisconnected(_error?: Error): void | Promise<void> {}

  /**
   * Runs when a later request of the connection changed its authentication (ASP.NET Core 11's
   * OnAuthenticationRefreshedAsync): an authentication refresh, a long poll, a send or a resumed
   * WebSocket brought a token of the same user with other claims or another end. `context.user`
   * is the fresh one already. Runs once onConnected has completed, beside the connection's calls;
   * a throw is logged and costs nothing else.
   *
   * @example
   * override async onAuthenticationRefreshed() {
   *   if ((this.context.user as Claims).role !== "admin") await this.groups.removeFromGroup(this.context.connectionId, "admins");
   * }
   */
  onAuthenticationRefreshed(): void | Promise<void> {}
}

/** The `TClient` of a hub class. */
export type ClientOf<THub> = THub extends Hub<infer TClient> ? TClient : never;
