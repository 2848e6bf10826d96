import { HubwireError } from "../errors.js";
import type { CloseOptions, ConnectionManager, GroupManager } from "../hubs/client-proxy.js";
import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";
import type { Target } from "../lifetime/target.js";
import { closeMessage } from "../protocol/messages.js";

/** What a hub's `clients` call on the lifetime manager. */
export type ClientSends = Pick<HubLifetimeManager, "send" | "invokeConnection">;

/** What hub code starts on the lifetime manager, and may not await. */
export type ObservedCall = "send" | "client result" | "group change" | "close";

/** Told of each failure of a call hub code started (see observedSends). */
export type OnCallFailure = (kind: ObservedCall, error: unknown) => void;

/**
 * Hub code may start a send, a client result or a group change without awaiting it, as C# code
 * often does with SignalR. Node ends the process on a promise that rejects with nothing to
 * handle it: one client that makes such a call fail (a group join past its bound, a client
 * result left unanswered) would end the server. Each promise is returned as it is, so code that
 * awaits it sees the failure, and is observed too, so one that nothing awaits is only reported.
 */
export function observedSends(inner: ClientSends, onFailure: OnCallFailure): ClientSends {
  return {
    send: (target, method, args) => observed(inner.send(target, method, args), "send", onFailure),
    invokeConnection: (connectionId, method, args, options) => observed(inner.invokeConnection(connectionId, method, args, options), "client result", onFailure),
  };
}

/** The group changes hub code makes, observed as sends are (see observedSends). */
export function observedGroups(lifetime: HubLifetimeManager, onFailure: OnCallFailure): GroupManager {
  const add: GroupChange = (connectionId, groupName) => lifetime.addToGroup(connectionId, groupName);
  const remove: GroupChange = (connectionId, groupName) => lifetime.removeFromGroup(connectionId, groupName);
  return {
    addToGroup: (connectionId, groupName) => observed(add(connectionId, groupName), "group change", onFailure),
    removeFromGroup: (connectionId, groupName) => observed(remove(connectionId, groupName), "group change", onFailure),
    addUserToGroup: (userId, groupName) => observed(changeUser(lifetime, userId, groupName, add), "group change", onFailure),
    removeUserFromGroup: (userId, groupName) => observed(changeUser(lifetime, userId, groupName, remove), "group change", onFailure),
  };
}

/** One connection's group change, made by the lifetime manager. */
type GroupChange = (connectionId: string, groupName: string) => Promise<void>;

/**
 * A user's group change is one change per connection the user has, wherever it is: each goes
 * the way a single connection's does (acknowledged by its server, following it if it moves).
 */
async function changeUser(lifetime: HubLifetimeManager, userId: string, groupName: string, change: GroupChange): Promise<void> {
  const connectionIds = await connectionsOf(lifetime, { kind: "users", ids: [userId] });
  const changes = await Promise.allSettled(connectionIds.map((connectionId) => change(connectionId, groupName)));
  const failed = changes.find((settled) => settled.status === "rejected");
  if (failed) throw failed.reason;
}

/** The connections of a user or a group on every server; a lifetime manager that cannot find them refuses. */
async function connectionsOf(lifetime: HubLifetimeManager, target: Target): Promise<string[]> {
  if (!lifetime.connectionsOf) {
    const why = "This hub's lifetime manager cannot find a user's or a group's connections (it has no connectionsOf).";
    throw new HubwireError("ERR_CONNECTION_LOOKUP_NOT_SUPPORTED", why);
  }
  return lifetime.connectionsOf(target);
}

/**
 * HubContext.connections: the closes hub code makes, observed as sends are (a lifetime manager
 * without closeConnections refuses them), and the lookups of a user's or a group's connections,
 * which code awaits for their answer.
 */
export function observedConnections(lifetime: HubLifetimeManager, onFailure: OnCallFailure): ConnectionManager {
  const close = (target: Target, options?: CloseOptions): Promise<void> => {
    const closing = lifetime.closeConnections
      ? lifetime.closeConnections(target, closeMessage(options))
      : Promise.reject(new HubwireError("ERR_CLOSE_NOT_SUPPORTED", "This hub's lifetime manager cannot close connections (it has no closeConnections)."));
    return observed(closing, "close", onFailure);
  };
  return {
    ofUser: (userId) => connectionsOf(lifetime, { kind: "users", ids: [userId] }),
    ofGroup: (groupName) => connectionsOf(lifetime, { kind: "groups", names: [groupName] }),
    close: (connectionId, options) => close({ kind: "connections", ids: [connectionId] }, options),
    closeUser: (userId, options) => close({ kind: "users", ids: [userId] }, options),
    closeGroup: (groupName, options) => close({ kind: "groups", names: [groupName] }, options),
    closeAll: (options) => close({ kind: "all" }, options),
  };
}

function observed<T>(promise: Promise<T>, kind: ObservedCall, onFailure: OnCallFailure): Promise<T> {
  promise.catch((error: unknown) => onFailure(kind, error));
  return promise;
}
