import type { TransportConnection } from "../transports/transport-connection.js";
import type { TransportName } from "../transports/transport.js";
import type { ForwardEnd } from "../transports/connection-router-types.js";
import { byteLength } from "../protocol/utf8.js";
import { isHubException } from "../dispatch/error-texts.js";
import type { ScaleOutStats } from "../lifetime/scale-out-lifetime-manager.js";
import { BackplaneMetrics } from "./backplane-metrics.js";
import type { Attributes, Counter, Histogram, Meter, OpenTelemetryApi, Tracer } from "./otel-api.js";
import {
  attributeNames as a,
  connectionDurationBuckets,
  invocationDurationBuckets,
  metricNames as m,
  transportValues,
  type ConnectionStatus,
  type InvocationOutcome,
} from "./telemetry-names.js";

/** A hub's figure an observable instrument reads when the SDK collects. */
interface ObservedCount {
  readonly attributes: Attributes;
  readonly count: () => number;
}

/**
 * The instruments of one HubServer and what records into them. Made only when
 * `@opentelemetry/api` is installed and an SDK listens (see createTelemetry): otherwise the
 * layers hold `undefined` and pay one check where they would report.
 */
export class HubTelemetry {
  /** Undefined when no tracer provider is registered: then no span is made. */
  readonly tracer: Tracer | undefined;
  readonly invocationDuration: Histogram;
  readonly activeStreams: Counter;
  readonly activeUploads: Counter;
  private readonly connectionDuration: Histogram;
  private readonly activeConnections: Counter;
  private readonly messagesReceived: Counter;
  private readonly messagesSent: Counter;
  private readonly bytesReceived: Counter;
  private readonly bytesSent: Counter;
  private readonly connectionsDropped: Counter;
  private readonly connectionsRefused: Counter;
  private readonly invocationsHeldBack: Counter;
  private readonly authenticationRefreshes: Counter;
  private readonly forwardedRequestDuration: Histogram;
  private shuttingDown = false;
  private backplane: BackplaneMetrics | undefined;
  /** The hubs whose waiting connections are observed (see observeSuspended). */
  private suspended: ObservedCount[] | undefined;
  // Attribute sets are made once and reused: recording allocates nothing of hubwire's.
  private readonly byTransport = new Map<string, Attributes>();
  private readonly byProtocol = new Map<string, Attributes>();
  private readonly byClose = new Map<string, Attributes>();
  private readonly byForward = new Map<string, Attributes>();

  constructor(
    readonly api: OpenTelemetryApi,
    readonly meter: Meter,
    tracer: Tracer | undefined,
  ) {
    this.tracer = tracer;
    this.connectionDuration = meter.createHistogram(m.connectionDuration, {
      unit: "s",
      description: "The duration of connections on the server.",
      advice: { explicitBucketBoundaries: connectionDurationBuckets },
    });
    this.activeConnections = meter.createUpDownCounter(m.activeConnections, {
      unit: "{connection}",
      description: "Number of connections that are currently active on the server.",
    });
    this.invocationDuration = meter.createHistogram(m.invocationDuration, {
      unit: "s",
      description: "The duration of hub method invocations, by hub, method and outcome (its count is the number of calls).",
      advice: { explicitBucketBoundaries: invocationDurationBuckets },
    });
    this.forwardedRequestDuration = meter.createHistogram(m.forwardedRequestDuration, {
      unit: "s",
      description: "Requests of connections another server holds, from when they were forwarded to their end, by method and outcome (no sticky sessions).",
      advice: { explicitBucketBoundaries: invocationDurationBuckets },
    });
    this.messagesReceived = meter.createCounter(m.messagesReceived, { unit: "{message}", description: "Hub messages received from clients." });
    this.messagesSent = meter.createCounter(m.messagesSent, { unit: "{message}", description: "Hub messages written to clients." });
    this.bytesReceived = meter.createCounter(m.bytesReceived, { unit: "By", description: "Bytes of the hub messages received from clients." });
    this.bytesSent = meter.createCounter(m.bytesSent, { unit: "By", description: "Bytes of the hub messages written to clients." });
    this.connectionsDropped = meter.createCounter(m.connectionsDropped, {
      unit: "{connection}",
      description: "Connections the server dropped for a limit: a full send buffer, a message too large, a full stateful reconnect buffer, too many negotiated.",
    });
    this.connectionsRefused = meter.createCounter(m.connectionsRefused, {
      unit: "{connection}",
      description: "New connections refused: with 503 because the server held its maximumConnections, or at their handshake because their user held maximumConnectionsPerUser.",
    });
    this.invocationsHeldBack = meter.createCounter(m.invocationsHeldBack, {
      unit: "{invocation}",
      description: "Invocations that waited their turn because their client called faster than its hub's maximumInvocationsPerSecondPerClient.",
    });
    this.authenticationRefreshes = meter.createCounter(m.authenticationRefreshes, {
      unit: "{refresh}",
      description: "Authentication refreshes (SignalR 11) answered, by outcome: ok, or the error they were refused with.",
    });
    this.activeStreams = meter.createUpDownCounter(m.activeStreams, { unit: "{stream}", description: "Server-to-client streams running." });
    this.activeUploads = meter.createUpDownCounter(m.activeUploads, { unit: "{stream}", description: "Client-to-server (upload) streams open." });
  }

  /** A connection's transport runs and its hub takes it. */
  connectionOpened(transport: TransportConnection): void {
    this.activeConnections.add(1, this.transportAttributes(transport.transportName));
  }

  /**
   * A stateful WebSocket connection moved between servers, or was rebuilt here by crash recovery:
   * active here (`arrived`) or no longer (it left, and ends on the other server). Its duration
   * is recorded where it ends.
   */
  connectionMoved(arrived: boolean): void {
    this.activeConnections.add(arrived ? 1 : -1, this.transportAttributes("WebSockets"));
  }

  /** The connection ended; `error` is why, when it ended abnormally. */
  connectionClosed(transport: TransportConnection, error: Error | undefined): void {
    // One that arrived here (a move, crash recovery) and ended before its client's socket came
    // back has no transport yet: it was counted in as what only moves, a stateful WebSocket.
    const transportName = transport.transportName ?? "WebSockets";
    this.activeConnections.add(-1, this.transportAttributes(transportName));
    const status: ConnectionStatus = this.shuttingDown ? "app_shutdown" : error?.name === "TimeoutException" ? "timeout" : "normal_closure";
    this.connectionDuration.record((Date.now() - transport.createdAt) / 1000, this.closeAttributes(transportName, status));
    const reason = dropReason(error);
    if (reason) this.connectionsDropped.add(1, this.closeAttributes(transportName, reason, a.dropReason));
  }

  /**
   * An authentication refresh was answered: `ok`, or the error it was refused with
   * (`invalid_token`, `user_changed`, `permission_change_rejected`, `connection_not_found`, ...).
   */
  authenticationRefreshed(outcome: string): void {
    this.authenticationRefreshes.add(1, { [a.refreshOutcome]: outcome });
  }

  /**
   * A request of a connection another server holds ended (see ConnectionRouter): how, and
   * `seconds` after it was forwarded; `errorType`, the error code of a failed one.
   */
  requestForwarded(method: string, outcome: ForwardEnd, seconds: number, errorType: string | undefined): void {
    const key = `${method} ${outcome} ${errorType ?? ""}`;
    let attributes = this.byForward.get(key);
    if (!attributes) {
      attributes = { [a.requestMethod]: method, [a.forwardOutcome]: outcome, ...(errorType ? { [a.errorType]: errorType } : {}) };
      this.byForward.set(key, attributes);
    }
    this.forwardedRequestDuration.record(seconds, attributes);
  }

  /** A negotiated connection was dropped before its transport opened, to keep `maximumNegotiatedConnections`. */
  negotiatedDropped(): void {
    this.connectionsDropped.add(1, this.closeAttributes(undefined, "negotiated_limit", a.dropReason));
  }

  /** A new connection was refused, the server holding its `maximumConnections`. */
  connectionRefused(): void {
    this.connectionsRefused.add(1, { [a.refusalReason]: "maximum_connections" });
  }

  /** A new connection of `hub` was refused at its handshake, its user holding `maximumConnectionsPerUser`. */
  userConnectionRefused(hub: string): void {
    this.connectionsRefused.add(1, { [a.refusalReason]: "maximum_connections_per_user", [a.hub]: hub });
  }

  /** An invocation on `hub` waits its turn: its client calls faster than `maximumInvocationsPerSecondPerClient`. */
  invocationHeldBack(hub: string): void {
    this.invocationsHeldBack.add(1, { [a.hub]: hub });
  }

  /** Reports how many of a hub's connections wait for their client, read when the SDK collects. */
  observeSuspended(hub: string, count: () => number): void {
    if (!this.suspended) {
      const hubs: ObservedCount[] = (this.suspended = []);
      this.meter
        .createObservableGauge(m.suspendedConnections, {
          unit: "{connection}",
          description: "Stateful connections whose client is away, waiting for it to reconnect (counted in the active connections too).",
        })
        .addCallback((result) => {
          for (const each of hubs) result.observe(each.count(), each.attributes);
        });
    }
    this.suspended.push({ attributes: { [a.hub]: hub }, count });
  }

  /** Reports a scale-out hub's backplane figures (see BackplaneMetrics). */
  observeScaleOut(hub: string, stats: () => ScaleOutStats): void {
    (this.backplane ??= new BackplaneMetrics(this.meter)).observe(hub, stats);
  }

  /** The server is closing: connections that end from now on end for that (`app_shutdown`). */
  shutdown(): void {
    this.shuttingDown = true;
  }

  /** `count` messages arrived, `bytes` of them in all. */
  received(protocol: string, bytes: number, count: number): void {
    const attributes = this.protocolAttributes(protocol);
    this.messagesReceived.add(count, attributes);
    this.bytesReceived.add(bytes, attributes);
  }

  /** One message was written to a client. */
  sent(protocol: string, payload: string | Uint8Array): void {
    const attributes = this.protocolAttributes(protocol);
    this.messagesSent.add(1, attributes);
    this.bytesSent.add(typeof payload === "string" ? byteLength(payload) : payload.byteLength, attributes);
  }

  private transportAttributes(transport: TransportName | undefined): Attributes {
    const key = transport ?? "";
    let attributes = this.byTransport.get(key);
    if (!attributes) this.byTransport.set(key, (attributes = transport ? { [a.transport]: transportValues[transport] } : {}));
    return attributes;
  }

  private closeAttributes(transport: TransportName | undefined, value: string, name: string = a.connectionStatus): Attributes {
    const key = `${transport}:${name}:${value}`;
    let attributes = this.byClose.get(key);
    if (!attributes) this.byClose.set(key, (attributes = { ...this.transportAttributes(transport), [name]: value }));
    return attributes;
  }

  private protocolAttributes(protocol: string): Attributes {
    let attributes = this.byProtocol.get(protocol);
    if (!attributes) this.byProtocol.set(protocol, (attributes = { [a.protocol]: protocol }));
    return attributes;
  }
}

/** Why a connection was dropped for one of the server's limits, from the error it ended with. */
function dropReason(error: Error | undefined): string | undefined {
  switch ((error as { code?: unknown } | undefined)?.code) {
    case "ERR_SEND_BUFFER_FULL":
      return "send_buffer_full";
    case "ERR_STATEFUL_BUFFER_FULL":
      return "stateful_buffer_full";
    case "ERR_PROTOCOL_MESSAGE_TOO_LARGE":
    case "ERR_REQUEST_TOO_LARGE":
      return "message_too_large";
    default:
      return undefined;
  }
}

/** `hubwire.invocation.outcome` of a call that threw `error`, and its `error.type`. */
export function failure(error: unknown): { outcome: InvocationOutcome; type: string } {
  const type = error instanceof Error ? error.name : "_OTHER";
  return { outcome: isHubException(error) ? "hub_exception" : "error", type };
}
