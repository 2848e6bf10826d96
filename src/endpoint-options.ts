import type { ResolvedHubOptions } from "./dispatch/hub-options.js";
import type { HubRuntime } from "./dispatch/hub-runtime.js";
import { recoveryWait } from "./lifetime/scale-out-settings.js";
import type { LogWriter } from "./logger.js";
import type { HubTelemetry } from "./telemetry/hub-telemetry.js";
import type { HubServerOptions } from "./server-options.js";
import type { AdmissionCheck, EndpointOptions } from "./transports/connection-endpoint.js";
import type { ConnectionLimit } from "./transports/connection-limit.js";
import type { RouteChannels } from "./transports/connection-router-types.js";
import type { ChannelEndpoint } from "./transports/multiplex-settings.js";

/** How long a closing connection may take unless `closeTimeout` says otherwise. */
export const defaultCloseTimeout = 5000;

/** What every endpoint of a server shares: see endpointOptionsFor. */
export interface EndpointShares {
  readonly log: LogWriter;
  /** The server's metrics, when it reports any. */
  readonly telemetry: HubTelemetry | undefined;
  /** The server's bound on its connections across its endpoints (maximumConnections). */
  readonly connectionLimit: ConnectionLimit;
}

/**
 * What an endpoint of the server runs with, from its hub's (or raw endpoint's) resolved options
 * and the server's. `statefulReconnects`: hubs only; a raw connection has no messages to number
 * and replay.
 */
export function endpointOptionsFor(
  server: HubServerOptions,
  { log, telemetry, connectionLimit }: EndpointShares,
  resolved: ResolvedHubOptions,
  admit: AdmissionCheck | undefined,
  statefulReconnects: boolean,
  /** With a backplane: this server's id in the cluster (see ScaleOutOptions.serverId), and the backplane as the server calls it. */
  cluster: { readonly serverId: string; readonly backplane: RouteChannels } | undefined,
): EndpointOptions {
  const maxMessage = resolved.maximumReceiveMessageSize;
  return {
    transports: resolved.transports,
    ...(admit ? { admit } : {}),
    ...(resolved.allowedOrigins ? { allowedOrigins: resolved.allowedOrigins } : {}),
    disconnectTimeoutMs: resolved.disconnectTimeout,
    pollTimeoutMs: resolved.pollTimeout,
    closeTimeoutMs: server.closeTimeout ?? defaultCloseTimeout,
    // A frame or POST may hold several messages; the per-message limit is enforced when parsing.
    maxIncomingPayload: maxMessage === null ? 256 * 1024 * 1024 : Math.max(4 * maxMessage, 1024 * 1024),
    maxBufferedBytes: resolved.maximumSendBufferSize,
    maxNegotiatedConnections: resolved.maximumNegotiatedConnections,
    connectionLimit,
    minimumNegotiateVersion: 0,
    allowStatefulReconnects: statefulReconnects,
    authenticationRefresh: resolved.authenticationRefresh,
    // Servers on one backplane serve each other's connections' requests: no sticky sessions.
    routeChannels: cluster?.backplane,
    serverId: cluster?.serverId,
    recoveryWaitMs: cluster && statefulReconnects ? recoveryWait(server.scaleOut) : undefined,
    log,
    negotiatedDropped: telemetry && (() => telemetry.negotiatedDropped()),
    authenticationRefreshed: telemetry && ((outcome) => telemetry.authenticationRefreshed(outcome)),
    forwarded: telemetry && ((method, end, startedAt, code) => telemetry.requestForwarded(method, end, (performance.now() - startedAt) / 1000, code)),
  };
}

/** A mapped hub as a multiplexed connection opens it: the same admission and handler as its own endpoint. */
export function channelEndpointOf(runtime: HubRuntime | undefined): ChannelEndpoint | undefined {
  if (!runtime) return undefined;
  return {
    admit: (request, token) => runtime.admit(request, token),
    handler: runtime,
    transports: runtime.options.transports,
    maxBufferedBytes: runtime.options.maximumSendBufferSize,
    maxMessageBytes: runtime.options.maximumReceiveMessageSize,
    allowStatefulReconnects: runtime.options.allowStatefulReconnects,
    moves: runtime.moves,
  };
}
