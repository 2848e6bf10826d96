import type { GroupManager } from "../hubs/client-proxy.js";
import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";

/** What a hub's `clients` call on the lifetime manager. */
export type ClientSends = Pick<HubLifetimeManager, "send" | "invokeConnection">;

/** What hub code starts on the lifetime manager, and may not await. */
export type ObservedCall = "send" | "client result" | "group change";

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
  return {
    addToGroup: (connectionId, groupName) => observed(lifetime.addToGroup(connectionId, groupName), "group change", onFailure),
    removeFromGroup: (connectionId, groupName) => observed(lifetime.removeFromGroup(connectionId, groupName), "group change", onFailure),
  };
}

function observed<T>(promise: Promise<T>, kind: ObservedCall, onFailure: OnCallFailure): Promise<T> {
  promise.catch((error: unknown) => onFailure(kind, error));
  return promise;
}
