import type { TransportName } from "../transports/transport.js";

// Every metric, span and attribute name hubwire reports, in one place; docs/observability.md
// lists them in one table and a test keeps the two in step. The `signalr.*` metrics and the span
// attributes are the OpenTelemetry semantic conventions for SignalR and ASP.NET Core's names, so
// dashboards and queries made for ASP.NET Core SignalR read hubwire too.

/** The meter and tracer name. */
export const instrumentationScope = "hubwire";

export const metricNames = {
  connectionDuration: "signalr.server.connection.duration",
  activeConnections: "signalr.server.active_connections",
  invocationDuration: "hubwire.server.invocation.duration",
  messagesReceived: "hubwire.server.messages.received",
  messagesSent: "hubwire.server.messages.sent",
  bytesReceived: "hubwire.server.bytes.received",
  bytesSent: "hubwire.server.bytes.sent",
  connectionsDropped: "hubwire.server.connections.dropped",
  connectionsRefused: "hubwire.server.connections.refused",
  invocationsHeldBack: "hubwire.server.invocations.held_back",
  authenticationRefreshes: "hubwire.server.authentication_refreshes",
  activeStreams: "hubwire.server.active_streams",
  activeUploads: "hubwire.server.active_uploads",
  suspendedConnections: "hubwire.server.suspended_connections",
  forwardedRequestDuration: "hubwire.server.forwarded_request.duration",
  backplanePublished: "hubwire.backplane.messages.published",
  backplaneReceived: "hubwire.backplane.messages.received",
  backplaneUnreceived: "hubwire.backplane.messages.unreceived",
  backplaneDropped: "hubwire.backplane.messages.dropped",
  backplaneResent: "hubwire.backplane.messages.resent",
  backplaneReplayed: "hubwire.backplane.messages.replayed",
  outboxMessages: "hubwire.backplane.outbox.messages",
  outboxBytes: "hubwire.backplane.outbox.size",
  outboxLag: "hubwire.backplane.outbox.lag",
  recoveryKept: "hubwire.recovery.connections.kept",
  recoveryRecoverable: "hubwire.recovery.connections.recoverable",
  recoveryRecovered: "hubwire.recovery.connections.recovered",
  recoveryLost: "hubwire.recovery.connections.lost",
} as const;

export const attributeNames = {
  connectionStatus: "signalr.connection.status",
  transport: "signalr.transport",
  rpcSystem: "rpc.system",
  rpcService: "rpc.service",
  rpcMethod: "rpc.method",
  errorType: "error.type",
  outcome: "hubwire.invocation.outcome",
  protocol: "hubwire.protocol",
  dropReason: "hubwire.drop.reason",
  refusalReason: "hubwire.refusal.reason",
  refreshOutcome: "hubwire.refresh.outcome",
  hub: "hubwire.hub",
  sendTarget: "hubwire.send.target",
  sendMethod: "hubwire.send.method",
  requestMethod: "http.request.method",
  forwardOutcome: "hubwire.forward.outcome",
} as const;

/** `signalr.transport`'s well-known values. */
export const transportValues: Readonly<Record<TransportName, string>> = {
  WebSockets: "web_sockets",
  ServerSentEvents: "server_sent_events",
  LongPolling: "long_polling",
};

/** `signalr.connection.status`'s well-known values. */
export type ConnectionStatus = "normal_closure" | "timeout" | "app_shutdown";

/** `hubwire.invocation.outcome`: `hub_exception` is the hub answering its caller, `error` a fault. */
export type InvocationOutcome = "ok" | "hub_exception" | "error";

/** The semantic conventions' advised boundaries for signalr.server.connection.duration (s). */
export const connectionDurationBuckets = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

/** The boundaries the conventions advise for request durations (http.server.request.duration), in s. */
export const invocationDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** ASP.NET Core's names for the lifecycle spans' `rpc.method` (its hub methods are OnConnectedAsync...). */
export const lifecycleMethods = { connected: "OnConnectedAsync", disconnected: "OnDisconnectedAsync", authenticationRefreshed: "OnAuthenticationRefreshedAsync" } as const;

/** Span events of a hub method's span, one per send it made. */
export const spanEvents = { send: "hubwire.send", invokeClient: "hubwire.invoke_client" } as const;
