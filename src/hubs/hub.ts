import type { GroupManager, HubCallerClients } from "./client-proxy.js";
import type { HubCallerContext } from "./hub-context-types.js";

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
  declare readonly context: HubCallerContext;
  declare readonly clients: HubCallerClients<TClient>;
  declare readonly groups: GroupManager;

  /** Runs when a connection has completed its handshake, before any of its invocations. */
  onConnected(): void | Promise<void> {}

  /** Runs when a connection has ended; `error` is set when it ended abnormally. */
  onDisconnected(_error?: Error): void | Promise<void> {}
}

/** The `TClient` of a hub class. */
export type ClientOf<THub> = THub extends Hub<infer TClient> ? TClient : never;
