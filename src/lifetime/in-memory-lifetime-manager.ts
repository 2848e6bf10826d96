import type { ClientInvokeOptions } from "../connection/client-results.js";
import type { HubConnection } from "../connection/hub-connection.js";
import { HubwireError, LimitExceededError } from "../errors.js";
import type { HubProtocol } from "../protocol/hub-protocol.js";
import { MessageType, type CloseMessage } from "../protocol/messages.js";
import { SerializedHubMessage } from "../protocol/serialized-message.js";
import type { HubLifetimeManager } from "./hub-lifetime-manager.js";
import type { Target } from "./target.js";

export interface InMemoryLifetimeOptions {
  /** Groups one connection may be in; a join past it throws a LimitExceededError. Default 1 000. */
  maximumGroupsPerConnection?: number;
}

/** A read-only view of who a lifetime manager holds on this server, for a dashboard. */
export interface LocalMembership {
  readonly userCount: number;
  readonly groupCount: number;
  /** Visits each group with its size here, without copying anything. */
  forEachGroup(visit: (name: string, size: number) => void): void;
  groupsOf(connectionId: string): string[];
}

/** The default of `maximumGroupsPerConnection`. */
export const defaultMaximumGroupsPerConnection = 1000;

/**
 * The lifetime manager of a single process. The scale-out manager keeps its local connections in
 * one, so the queries and `deliver` below serve it.
 *
 * @example
 * new HubServer({ lifetimeManager: new InMemoryLifetimeManager({ maximumGroupsPerConnection: 50 }) });
 */
export class InMemoryLifetimeManager implements HubLifetimeManager, LocalMembership {
  private readonly maxGroups: number;
  private readonly connections = new Map<string, HubConnection>();
  private readonly groups = new Map<string, Set<HubConnection>>();
  private readonly users = new Map<string, Set<HubConnection>>();
  /** The groups of each connection, so a disconnect leaves no empty sets behind. */
  private readonly membership = new Map<HubConnection, Set<string>>();

  constructor(options: InMemoryLifetimeOptions = {}) {
    this.maxGroups = options.maximumGroupsPerConnection ?? defaultMaximumGroupsPerConnection;
  }

  async onConnected(connection: HubConnection): Promise<void> {
    this.connections.set(connection.connectionId, connection);
    const userId = connection.userIdentifier;
    if (userId !== undefined) addTo(this.users, userId, connection);
  }

  async onDisconnected(connection: HubConnection): Promise<void> {
    this.leave(connection);
  }

  /**
   * Forgets a connection, as onDisconnected does, and says what no connection here is in any
   * more: the groups it left empty and its user, if it was the user's last. Undefined when the
   * connection was not here. A scale-out manager unsubscribes their channels.
   */
  leave(connection: HubConnection): { groups: string[]; user: string | undefined } | undefined {
    if (this.connections.get(connection.connectionId) !== connection) return undefined;
    this.connections.delete(connection.connectionId);
    const userId = connection.userIdentifier;
    if (userId !== undefined) removeFrom(this.users, userId, connection);
    const emptied: string[] = [];
    const groups = this.membership.get(connection);
    if (groups) {
      for (const group of groups) {
        removeFrom(this.groups, group, connection);
        if (!this.groups.has(group)) emptied.push(group);
      }
      this.membership.delete(connection);
    }
    return { groups: emptied, user: userId !== undefined && !this.users.has(userId) ? userId : undefined };
  }

  async connectionsOf(target: Target): Promise<string[]> {
    return this.connectionIdsIn(target);
  }

  /** The ids of the connections of `target` here. */
  connectionIdsIn(target: Target): string[] {
    return Array.from(this.recipients(target), (connection) => connection.connectionId);
  }

  async addToGroup(connectionId: string, groupName: string): Promise<void> {
    const connection = this.connections.get(connectionId);
    if (!connection) return;
    let groups = this.membership.get(connection);
    if (groups && groups.size >= this.maxGroups && !groups.has(groupName)) {
      throw new LimitExceededError("ERR_TOO_MANY_GROUPS", `A connection may be in at most ${this.maxGroups} groups.`);
    }
    addTo(this.groups, groupName, connection);
    if (!groups) this.membership.set(connection, (groups = new Set()));
    groups.add(groupName);
  }

  async removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    const connection = this.connections.get(connectionId);
    if (!connection) return;
    removeFrom(this.groups, groupName, connection);
    const groups = this.membership.get(connection);
    groups?.delete(groupName);
    if (groups?.size === 0) this.membership.delete(connection);
  }

  async send(target: Target, method: string, args: readonly unknown[]): Promise<void> {
    this.deliver(target, invocationOf(method, args));
  }

  async closeConnections(target: Target, close: CloseMessage): Promise<void> {
    this.deliver(target, new SerializedHubMessage(close));
  }

  /** Writes a message to the connections of `target` here, each once (see deliverTo). */
  deliver(target: Target, message: SerializedHubMessage): void {
    deliverTo(this.recipients(target), message);
  }

  /** The connections here. */
  allConnections(): IterableIterator<HubConnection> {
    return this.connections.values();
  }

  has(connectionId: string): boolean {
    return this.connections.has(connectionId);
  }

  /** The groups a connection here is in. */
  groupsOf(connectionId: string): string[] {
    const connection = this.connections.get(connectionId);
    return connection ? [...(this.membership.get(connection) ?? [])] : [];
  }

  /** This manager's connections, users and groups, read-only. */
  get localMembership(): LocalMembership {
    return this;
  }

  get userCount(): number {
    return this.users.size;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  forEachGroup(visit: (name: string, size: number) => void): void {
    for (const [name, members] of this.groups) visit(name, members.size);
  }

  /** Whether any connection here is in the group. */
  hasGroup(groupName: string): boolean {
    return this.groups.has(groupName);
  }

  /** Whether any connection here belongs to the user. */
  hasUser(userId: string): boolean {
    return this.users.has(userId);
  }

  /** The hub protocol a connection here speaks (undefined before its handshake or when unknown). */
  protocolOf(connectionId: string): HubProtocol | undefined {
    return this.connections.get(connectionId)?.protocol;
  }

  invokeConnection(connectionId: string, method: string, args: readonly unknown[], options?: ClientInvokeOptions): Promise<unknown> {
    const connection = this.connections.get(connectionId);
    if (!connection) {
      return Promise.reject(new HubwireError("ERR_CONNECTION_NOT_FOUND", `Connection '${connectionId}' does not exist.`));
    }
    return connection.invokeClient(method, args as unknown[], options);
  }

  /** The connections of a target, each once. */
  private recipients(target: Target): Iterable<HubConnection> {
    switch (target.kind) {
      case "all": {
        if (!target.except?.length) return this.connections.values();
        const except = new Set(target.except);
        return filter(this.connections.values(), (c) => !except.has(c.connectionId));
      }
      case "connections": {
        const found = new Set<HubConnection>();
        for (const id of target.ids) {
          const connection = this.connections.get(id);
          if (connection) found.add(connection);
        }
        return found;
      }
      case "groups": {
        const except = target.except?.length ? new Set(target.except) : undefined;
        if (target.names.length === 1 && !except) return this.groups.get(target.names[0]!) ?? [];
        const found = new Set<HubConnection>();
        for (const name of target.names) {
          for (const connection of this.groups.get(name) ?? []) {
            if (!except?.has(connection.connectionId)) found.add(connection);
          }
        }
        return found;
      }
      case "users": {
        if (target.ids.length === 1) return this.users.get(target.ids[0]!) ?? [];
        const found = new Set<HubConnection>();
        for (const id of target.ids) for (const connection of this.users.get(id) ?? []) found.add(connection);
        return found;
      }
    }
  }
}

/**
 * Writes a message that reached `connections` through a lifetime manager (a send here, from
 * another server, or kept for a connection that moved or was recovered here). A Close
 * (closeConnections) ends each connection instead, whatever its client does with it: told
 * apart once per message, not once per recipient.
 */
export function deliverTo(connections: Iterable<HubConnection>, message: SerializedHubMessage): void {
  const { message: inner } = message;
  if (inner.type === MessageType.Close) for (const connection of connections) connection.close(inner);
  else for (const connection of connections) connection.writeSerialized(message);
}

/** A client invocation, encoded at most once per protocol whatever the number of recipients. */
export function invocationOf(method: string, args: readonly unknown[]): SerializedHubMessage {
  return new SerializedHubMessage({ type: MessageType.Invocation, target: method, arguments: args as unknown[] });
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

function* filter<T>(items: Iterable<T>, keep: (item: T) => boolean): Iterable<T> {
  for (const item of items) if (keep(item)) yield item;
}
