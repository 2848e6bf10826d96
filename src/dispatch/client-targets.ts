import type { ClientProxy, HubCallerClients, HubClients } from "../hubs/client-proxy.js";
import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";
import type { Target } from "../lifetime/target.js";

interface ProxyState {
  readonly manager: HubLifetimeManager;
  readonly target: Target;
}

// One handler for every proxy: a property read becomes a function that sends that method name.
const handler: ProxyHandler<ProxyState> = {
  get(state, property) {
    // Not a thenable, not a symbol-keyed protocol: only string names are client methods.
    if (typeof property !== "string" || property === "then") return undefined;
    if (property === "send") {
      return (method: string, ...args: unknown[]) => state.manager.send(state.target, method, args);
    }
    return (...args: unknown[]) => state.manager.send(state.target, property, args);
  },
};

/** A typed client proxy for one target. */
export function clientProxy<TClient>(manager: HubLifetimeManager, target: Target): ClientProxy<TClient> {
  return new Proxy<ProxyState>({ manager, target }, handler) as unknown as ClientProxy<TClient>;
}

/** The targets usable from anywhere (hub contexts and hubs alike). */
export class HubClientsImpl<TClient> implements HubClients<TClient> {
  readonly all: ClientProxy<TClient>;

  constructor(protected readonly manager: HubLifetimeManager) {
    this.all = clientProxy(manager, { kind: "all" });
  }

  allExcept(excludedConnectionIds: readonly string[]): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "all", except: [...excludedConnectionIds] });
  }
  client(connectionId: string): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "connections", ids: [connectionId] });
  }
  clients(connectionIds: readonly string[]): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "connections", ids: [...connectionIds] });
  }
  group(groupName: string): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "groups", names: [groupName] });
  }
  groups(groupNames: readonly string[]): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "groups", names: [...groupNames] });
  }
  groupExcept(groupName: string, excludedConnectionIds: readonly string[]): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "groups", names: [groupName], except: [...excludedConnectionIds] });
  }
  user(userId: string): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "users", ids: [userId] });
  }
  users(userIds: readonly string[]): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "users", ids: [...userIds] });
  }
}

/** The targets of a hub method, which also know the calling connection. */
export class HubCallerClientsImpl<TClient> extends HubClientsImpl<TClient> implements HubCallerClients<TClient> {
  readonly caller: ClientProxy<TClient>;
  readonly others: ClientProxy<TClient>;

  constructor(
    manager: HubLifetimeManager,
    private readonly connectionId: string,
  ) {
    super(manager);
    this.caller = clientProxy(manager, { kind: "connections", ids: [connectionId] });
    this.others = clientProxy(manager, { kind: "all", except: [connectionId] });
  }

  othersInGroup(groupName: string): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "groups", names: [groupName], except: [this.connectionId] });
  }
}
