import type { ClientInvokeOptions } from "../connection/client-results.js";

/**
 * The typed views of "who receives a call". A hub's `TClient` interface lists the functions its
 * clients handle; every target turns each of them into a function that sends it.
 *
 * `send` is reserved as the untyped escape hatch (and `then` is never a client method, so a
 * target is not mistaken for a promise); a client function named `send` is called through it:
 * `clients.all.send("send", text)`. `invoke` and `withOptions` are reserved on single clients.
 */

type ReservedName = "send" | "then" | "invoke" | "withOptions";

type ClientFunctions<TClient> = {
  [K in keyof TClient as K extends ReservedName ? never : TClient[K] extends (...args: never[]) => unknown ? K : never]:
    TClient[K] extends (...args: infer A) => unknown ? (...args: A) => Promise<void> : never;
};

/** Names of the `TClient` functions. */
export type ClientMethodName<TClient> = {
  [K in keyof TClient]: TClient[K] extends (...args: never[]) => unknown ? K : never;
}[keyof TClient] &
  string;

export type { ClientInvokeOptions };

/**
 * One client. Besides sending, it can be asked for an answer: `invoke` calls a `TClient`
 * function and resolves with what the client's handler returns (a client result).
 *
 * @example
 * const ok = await this.clients.caller.invoke("confirm", "Delete everything?");
 */
export type SingleClientProxy<TClient> = ClientProxy<TClient> & {
  invoke<K extends ClientMethodName<TClient>>(
    method: K,
    ...args: TClient[K] extends (...args: infer A) => unknown ? A : never
  ): Promise<TClient[K] extends (...args: never[]) => infer R ? Awaited<R> : never>;
  /** The same client, with a timeout or signal for `invoke`. */
  withOptions(options: ClientInvokeOptions): SingleClientProxy<TClient>;
};

/** One or many clients: call a `TClient` function on them, resolved once the message is handed to the transports. */
export type ClientProxy<TClient> = ClientFunctions<TClient> & {
  /** Calls `method` on the target by name, untyped. */
  send(method: string, ...args: unknown[]): Promise<void>;
};

/** The targets available anywhere (hub context included). */
export interface HubClients<TClient> {
  /** Every connection of the hub. */
  readonly all: ClientProxy<TClient>;
  allExcept(excludedConnectionIds: readonly string[]): ClientProxy<TClient>;
  client(connectionId: string): SingleClientProxy<TClient>;
  clients(connectionIds: readonly string[]): ClientProxy<TClient>;
  group(groupName: string): ClientProxy<TClient>;
  groups(groupNames: readonly string[]): ClientProxy<TClient>;
  groupExcept(groupName: string, excludedConnectionIds: readonly string[]): ClientProxy<TClient>;
  /** Every connection of one user. */
  user(userId: string): ClientProxy<TClient>;
  users(userIds: readonly string[]): ClientProxy<TClient>;
}

/** The targets inside a hub method, which also know the calling connection. */
export interface HubCallerClients<TClient> extends HubClients<TClient> {
  readonly caller: SingleClientProxy<TClient>;
  /** Every connection but the caller. */
  readonly others: ClientProxy<TClient>;
  othersInGroup(groupName: string): ClientProxy<TClient>;
}

/** What a server's Close tells its client. */
export interface CloseOptions {
  /** Shown to the client as `Server returned an error on close: <error>`. */
  error?: string;
  /** Asks the client to reconnect (as a new connection). Default false. */
  allowReconnect?: boolean;
}

/**
 * A hub's connections on every server of a cluster: a user's or a group's, found, and any ended
 * from anywhere (a user signed out on all their tabs, a group dropped). Each client closed is
 * sent a Close with `options`, and its server ends the connection whatever the client does with
 * it; the hub's onDisconnected runs there. A close goes as a send does (after the sends before
 * it; through the backplane's outbox while it is away).
 *
 * @example
 * await server.hubContext(ChatHub).connections.closeUser("ada", { error: "Signed out." });
 * const online = (await server.hubContext(ChatHub).connections.ofUser("ada")).length > 0;
 */
export interface ConnectionManager {
  /**
   * The ids of the connections the user has now, on every server (empty when the user is
   * offline). Fails with ERR_BACKPLANE_UNAVAILABLE or ERR_BACKPLANE_TIMEOUT when a server
   * cannot be asked.
   */
  ofUser(userId: string): Promise<string[]>;
  /** The ids of the group's members now, on every server (how many are in a room); as ofUser fails. */
  ofGroup(groupName: string): Promise<string[]>;
  close(connectionId: string, options?: CloseOptions): Promise<void>;
  closeUser(userId: string, options?: CloseOptions): Promise<void>;
  closeGroup(groupName: string, options?: CloseOptions): Promise<void>;
  closeAll(options?: CloseOptions): Promise<void>;
}

/** Group membership. Groups are created on first add; membership lasts as long as the connection. */
export interface GroupManager {
  addToGroup(connectionId: string, groupName: string): Promise<void>;
  removeFromGroup(connectionId: string, groupName: string): Promise<void>;
  /**
   * Adds every connection the user has now, on every server, to the group; resolves once a
   * send to the group reaches them all. A connection the user opens later is not added: add it
   * in onConnected. Rejects with the first connection's error (the others are added all the same).
   *
   * @example
   * await this.groups.addUserToGroup(this.context.userIdentifier!, "team:blue"); // every tab of the user
   */
  addUserToGroup(userId: string, groupName: string): Promise<void>;
  /** Removes every connection the user has now, on every server, from the group. */
  removeUserFromGroup(userId: string, groupName: string): Promise<void>;
}
