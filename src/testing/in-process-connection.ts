import { HttpError, HubClientError, isRefusal } from "../../client/errors.js";
import type { HubConnection } from "../../client/hub-connection.js";
import type { ConnectionSession } from "../dispatch/connection-session.js";
import type { HubRuntime } from "../dispatch/hub-runtime.js";
import type { HubDescriptor, HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import { asError } from "../protocol/thrown-value.js";
import { adopt, ConnectionAdmission } from "../transports/connection-admission.js";
import { newConnectionId } from "../transports/connection-ids.js";
import { bearerToken, ConnectionRequest } from "../transports/connection-request.js";
import { TransportConnection } from "../transports/transport-connection.js";
import type { InMemoryLink } from "./in-memory-link.js";

/** What the request that starts an in-process connection carries; see `ConnectOptions`. */
export interface RequestParts {
  token?: string | undefined;
  headers?: Record<string, string> | undefined;
  query?: Record<string, string> | undefined;
}

/**
 * The request a hub sees for an in-process connection (`this.context.request`): the hub's path
 * with the query, the headers, and the token as a bearer token, as hubwire's client sends it.
 * It comes from no socket, so it has no remote address.
 */
export function inProcessRequest(path: string, parts: RequestParts): ConnectionRequest {
  const query = new URLSearchParams(parts.query).toString();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) headers[name.toLowerCase()] = value;
  if (parts.token !== undefined) headers.authorization = `Bearer ${parts.token}`;
  return new ConnectionRequest({ url: query ? `${path}?${query}` : path, headers });
}

/**
 * Starts the hub's end of an in-process connection where a WebSocket upgrade starts one: the
 * request is admitted by the hub's own check (`authenticate`, the user id, hub-level
 * `@Authorize`), and the connection, its transport running, is handed to the hub stack, which
 * does the rest (handshake, onConnected, the message loop) as for any transport. A refusal
 * rejects as hubwire's client rejects a refused connection. Resolves with the connection's
 * session in the hub.
 */
export async function startInProcess(runtime: HubRuntime, request: ConnectionRequest, link: InMemoryLink): Promise<ConnectionSession | undefined> {
  const admission = await runtime.admit(request, bearerToken(request, true));
  if ("status" in admission) {
    const { status, reason } = admission;
    if (status === 500) throw new HttpError(reason ?? "The connection could not be started", status);
    throw new HubClientError("ERR_UNAUTHORIZED", `The server refused the connection: Status code '${status}'`, status);
  }
  const connection = new TransportConnection(newConnectionId(), newConnectionId(), runtime.options.maximumSendBufferSize);
  connection.request = request;
  adopt(connection, admission);
  connection.transport = link.serverEnd(connection);
  connection.state = "active";
  try {
    runtime.onConnection(connection);
  } catch (error) {
    connection.abort(asError(error));
    throw error;
  }
  // The session the hub made for it, so a test can wait for its end (onDisconnected).
  return runtime.sessions.get(connection);
}

/**
 * Refreshes an in-process connection's authentication with `request`, as an authentication
 * refresh on the network does: the hub's check admits it, it must be the connection's user, and
 * the hub's acceptAuthenticationRefresh may refuse it. A refusal rejects as hubwire's client's
 * refresh does (`ERR_UNAUTHORIZED` for 401 and 403).
 * Resolves once the hub's onAuthenticationRefreshed has run, at once where nothing changed.
 */
export async function refreshInProcess(runtime: HubRuntime, connection: TransportConnection, request: ConnectionRequest): Promise<void> {
  // The hub's admission as its endpoint, which serves refresh, runs it for a later request.
  const admission = new ConnectionAdmission((req, token) => runtime.admit(req, token), request.path, runtime.log, true);
  const verdict = await admission.readmit(connection, request, true);
  if ("status" in verdict) {
    const { status } = verdict;
    throw new HubClientError(isRefusal(status) ? "ERR_UNAUTHORIZED" : "ERR_REFRESH", `Authentication refresh failed: Status code '${status}'`, status);
  }
  if (connection.isClosed) throw new HubClientError("ERR_NOT_CONNECTED", "Cannot refresh authentication when the connection is not active.");
  await admission.adopt(connection, verdict);
}

/**
 * A hub's methods by their property names, called through hubwire's client by their wire names
 * (the hub's descriptor knows both, and which stream): invoked or streamed in `hub`, sent in
 * `send`. A name the hub does not have is undefined, as on the class.
 */
export function hubCalls(descriptor: HubDescriptor, connection: HubConnection): { hub: object; send: object } {
  const methods = new Map<string, HubMethodDescriptor>();
  for (const method of descriptor.methods.values()) if (typeof method.propertyKey === "string") methods.set(method.propertyKey, method);
  const calls = (make: (method: HubMethodDescriptor) => (...args: unknown[]) => unknown) =>
    new Proxy(
      {},
      {
        get: (_target, property) => {
          // Never `then`: the object must not pass for a promise, whatever the hub names its methods.
          const method = typeof property === "string" && property !== "then" ? methods.get(property) : undefined;
          return method && make(method);
        },
      },
    );
  return {
    hub: calls((method) =>
      method.streaming ? (...args) => connection.stream(method.wireName, ...args) : (...args) => connection.invoke(method.wireName, ...args),
    ),
    send: calls((method) => (...args) => connection.send(method.wireName, ...args)),
  };
}
