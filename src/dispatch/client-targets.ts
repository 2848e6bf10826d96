import type {
  ClientInvokeOptions,
  ClientProxy,
  HubCallerClients,
  HubClients,
  SingleClientProxy,
} from "../hubs/client-proxy.js";
import type { Target } from "../lifetime/target.js";
import type { ClientSends } from "./observed-calls.js";

interface ProxyState {
  readonly manager: ClientSends;
  readonly target: Target;
  /** Set for a single connection, which can also be invoked. */
  readonly connectionId?: string;
  readonly invokeOptions?: ClientInvokeOptions;
}

// One handler for every proxy: a property read becomes a function that sends that method name.
const handler: ProxyHandler<ProxyState> = {
  get(state, property) {
    // Not a thenable, not a symbol-keyed protocol: only string names are client methods.
    if (typeof property !== "string" || property === "then") return undefined;
    if (property === "send") {
      return (method: string, ...args: unknown[]) => state.manager.send(state.target, method, args);
    }
    if (state.connectionId !== undefined) {
      const connectionId = state.connectionId;
      if (property === "invoke") {
        return (method: string, ...args: unknown[]) =>
          state.manager.invokeConnection(connectionId, method, args, state.invokeOptions);
      }
      if (property === "withOptions") {
        return (options: ClientInvokeOptions) => singleClientProxy(state.manager, connectionId, options);
      }
    }
    return (...args: unknown[]) => state.manager.send(state.target, property, args);
  },
};

/** A typed client proxy for one target. */
export function clientProxy<TClient>(manager: ClientSends, target: Target): ClientProxy<TClient> {
  return new Proxy<ProxyState>({ manager, target }, handler) as unknown as ClientProxy<TClient>;
}

/** A typed proxy for one connection, which can also be asked for a result. */
export function singleClientProxy<TClient>(
  manager: ClientSends,
  connectionId: string,
  invokeOptions?: ClientInvokeOptions,
): SingleClientProxy<TClient> {
  const state: ProxyState = { manager, target: { kind: "connections", ids: [connectionId] }, connectionId, ...(invokeOptions ? { invokeOptions } : {}) };
  return new Proxy<ProxyState>(state, handler) as unknown as SingleClientProxy<TClient>;
}

/** The targets usable from anywhere (hub contexts and hubs alike). */
export class HubClientsImpl<TClient> implements HubClients<TClient> {
  private allProxy: ClientProxy<TClient> | undefined;

  constructor(protected readonly manager: ClientSends) {}

  get all(): ClientProxy<TClient> {
    return (this.allProxy ??= clientProxy<TClient>(this.manager, { kind: "all" }));
  }

  allExcept(excludedConnectionIds: readonly string[]): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "all", except: [...excludedConnectionIds] });
  }
  client(connectionId: string): SingleClientProxy<TClient> {
    return singleClientProxy(this.manager, connectionId);
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
  // Made on first use: most connections never address `caller` or `others` by name.
  private callerProxy: SingleClientProxy<TClient> | undefined;
  private othersProxy: ClientProxy<TClient> | undefined;

  constructor(
    manager: ClientSends,
    private readonly connectionId: string,
  ) {
    super(manager);
  }

  get caller(): SingleClientProxy<TClient> {
    return (this.callerProxy ??= singleClientProxy<TClient>(this.manager, this.connectionId));
  }

  get others(): ClientProxy<TClient> {
    return (this.othersProxy ??= clientProxy<TClient>(this.manager, { kind: "all", except: [this.connectionId] }));
  }

  othersInGroup(groupName: string): ClientProxy<TClient> {
    return clientProxy(this.manager, { kind: "groups", names: [groupName], except: [this.connectionId] });
  }
}
