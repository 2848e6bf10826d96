import { settlesWithin } from "../settles-within.js";
import { Heartbeat } from "../connection/heartbeat.js";
import type { HubConnectionOptions } from "../connection/hub-connection.js";
import type { LogWriter } from "../logger.js";
import { LimitExceededError } from "../errors.js";
import { dispatchLog } from "./dispatch-log.js";
import { callerKey, invocationScopeKey, type CallerView, type ClientOf, type Hub, type InvocationScopeView } from "../hubs/hub.js";
import type { ConnectionManager, GroupManager } from "../hubs/client-proxy.js";
import type { HubDescriptor, HubMethodDescriptor } from "../hubs/hub-descriptor.js";
import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";
import type { HubProtocol } from "../protocol/hub-protocol.js";
import { tracedSends } from "../telemetry/create-telemetry.js";
import { PeriodicCount } from "../periodic-count.js";
import { UserConnectionCounts } from "./user-connection-counts.js";
import { observedConnections, observedGroups, observedSends, type ClientSends, type ObservedCall, type OnCallFailure } from "./observed-calls.js";
import type { HubTelemetry } from "../telemetry/hub-telemetry.js";
import { telemetryFilter } from "../telemetry/telemetry-filter.js";
import type { HubRequest } from "../hubs/hub-context-types.js";
import type { Admission } from "../transports/connection-endpoint.js";
import type { TransportConnection } from "../transports/transport-connection.js";
import { authenticateRequest, type AdmissionContext } from "./authentication.js";
import { closeOnExpiry } from "./authentication-expiry.js";
import { isAuthorized } from "./authorization.js";
import { HubClientsImpl } from "./client-targets.js";
import { ConnectionSession } from "./connection-session.js";
import { HubMoves } from "./hub-moves.js";
import type { HubContext } from "./hub-context.js";
import { composeFilters, type FilterPipelines, type HubFilter } from "./hub-filter.js";
import type { AuthorizationPolicy, ResolvedHubOptions } from "./hub-options.js";

/** Makes hub instances; typedi's `Container` is one, and any container with `get` will do. */
export interface HubActivator {
  get<T>(type: new (...args: any[]) => T): T;
  /** A maker for one hub class, decided once when the hub is mapped (optional). */
  factoryFor?<T>(type: new (...args: any[]) => T): () => T;
}

export interface HubRuntimeServices {
  log: LogWriter;
  activator: HubActivator;
  policies: Readonly<Record<string, AuthorizationPolicy>>;
  lifetime: HubLifetimeManager;
  /** The protocols this hub accepts. */
  protocols: readonly HubProtocol[];
  /** Metrics and traces, when there is somewhere to report them. */
  telemetry?: HubTelemetry;
  /**
   * How long a closed connection's lifetime manager entry waits for its hub's onConnected
   * (see ConnectionSession.finish): the server's `closeTimeout`.
   */
  closeTimeoutMs: number;
}

/** What HubRuntime.observe takes. */
export interface HubObserver {
  readonly lifecycle: HubFilter;
  wrapInvoke(inner: FilterPipelines["invoke"]): NonNullable<FilterPipelines["invoke"]>;
}

type MutableHub = { groups: unknown; connections: unknown; [invocationScopeKey]: InvocationScopeView; [callerKey]: CallerView };

/** Everything one mapped hub needs at run time, and the sessions of its connections. */
export class HubRuntime<THub extends Hub<any> = Hub<any>> {
  /** The sessions of the hub's connections here, by their transport connection. */
  readonly sessions = new Map<TransportConnection, ConnectionSession>();
  /** For the transport layer: stateful connections move between servers when the lifetime manager can move them. */
  readonly moves: HubMoves | undefined;
  readonly heartbeat: Heartbeat;
  readonly connectionOptions: HubConnectionOptions;
  readonly protocols: ReadonlyMap<string, HubProtocol>;
  readonly log: LogWriter;
  readonly lifetime: HubLifetimeManager;
  /**
   * The lifetime manager as hubs' `clients` reach it: with telemetry, sends become span events;
   * a failure nothing awaits is logged, not left to end the process (see observedSends).
   */
  readonly sends: ClientSends;
  readonly telemetry: HubTelemetry | undefined;
  readonly closeTimeoutMs: number;
  /** Each user's connections here, against maximumConnectionsPerUser. */
  readonly userConnections: UserConnectionCounts;
  /** Invocations that waited for maximumInvocationsPerSecondPerClient, reported once a period. */
  readonly invocationsHeldBack: PeriodicCount;
  readonly policies: Readonly<Record<string, AuthorizationPolicy>>;
  readonly context: HubContext<ClientOf<THub>>;
  /** The hub's filters around method calls and lifecycle events, composed once (again for each `observe`). */
  filters: FilterPipelines;
  private filterList: readonly HubFilter[];
  private readonly makeHub: () => unknown;
  private readonly admission: AdmissionContext;
  private readonly groups: GroupManager;
  private readonly connections: ConnectionManager;
  /** Methods by the exact spelling clients call them; bounded, as a client may send any spelling. */
  private readonly methodsBySpelling = new Map<string, HubMethodDescriptor>();

  constructor(
    readonly descriptor: HubDescriptor,
    readonly options: ResolvedHubOptions,
    services: HubRuntimeServices,
  ) {
    this.log = services.log;
    const { activator } = services;
    const hubClass = descriptor.hubClass;
    this.makeHub = activator.factoryFor?.(hubClass) ?? (() => activator.get(hubClass));
    this.policies = services.policies;
    this.admission = {
      authenticate: options.authenticate,
      userIdProvider: options.userIdProvider,
      log: services.log,
      endpoint: descriptor.name,
      maximumAuthenticationExpiration: options.maximumAuthenticationExpiration,
    };
    const { telemetry } = services;
    this.telemetry = telemetry;
    this.closeTimeoutMs = services.closeTimeoutMs;
    const { maximumConnectionsPerUser } = options;
    this.userConnections = new UserConnectionCounts(
      maximumConnectionsPerUser,
      (refused) => this.log.write(dispatchLog.userConnectionsRefused, { hub: descriptor.name, refused, maximumConnectionsPerUser }),
      telemetry && (() => telemetry.userConnectionRefused(descriptor.name)),
    );
    const { maximumInvocationsPerSecondPerClient } = options;
    this.invocationsHeldBack = new PeriodicCount(
      (heldBack) => this.log.write(dispatchLog.invocationsHeldBack, { hub: descriptor.name, heldBack, maximumInvocationsPerSecondPerClient }),
      telemetry && (() => telemetry.invocationHeldBack(descriptor.name)),
    );
    this.filterList = telemetry ? [telemetryFilter(telemetry, descriptor.name), ...options.filters] : options.filters;
    this.filters = composeFilters(this.filterList);
    this.lifetime = services.lifetime;
    const onFailure: OnCallFailure = (kind, error) => this.callFailed(kind, error);
    this.sends = observedSends(telemetry?.tracer ? tracedSends(telemetry, services.lifetime) : services.lifetime, onFailure);
    this.protocols = new Map(services.protocols.map((p) => [p.name.toLowerCase(), p]));
    this.connectionOptions = {
      keepAliveIntervalMs: options.keepAliveInterval,
      clientTimeoutMs: options.clientTimeoutInterval,
      handshakeTimeoutMs: options.handshakeTimeout,
      clientResultTimeoutMs: options.clientResultTimeout,
      telemetry,
    };
    // Check every timer at a quarter of the shortest interval, at most once a second.
    const shortest = Math.min(options.keepAliveInterval, options.clientTimeoutInterval, options.handshakeTimeout);
    // Its subscribers are the sessions: one whose check throws fails only its own connection.
    this.heartbeat = new Heartbeat(this.sessions, Math.max(10, Math.min(1000, shortest / 4)), (session, error) =>
      (session as ConnectionSession).closeWithError(error, dispatchLog.heartbeatFailed),
    );
    const lifetime = this.lifetime;
    this.groups = observedGroups(lifetime, onFailure);
    this.connections = observedConnections(lifetime, onFailure);
    this.context = Object.freeze({ clients: new HubClientsImpl<ClientOf<THub>>(this.sends), groups: this.groups, connections: this.connections });
    this.moves = lifetime.moves ? new HubMoves(this, lifetime.moves) : undefined;
  }

  /**
   * Observes the hub from the next call on, as a mounted dashboard does: `lifecycle` goes
   * outermost around onConnected and onDisconnected, and `wrapInvoke` around the method-call
   * pipeline. Unlike a filter's, the wrapper's answer to a synchronous method may be its result
   * as is, so such a call still completes without a promise. A hub nobody observes keeps its
   * filters as they were.
   */
  observe(observer: HubObserver): void {
    this.filterList = [observer.lifecycle, ...this.filterList];
    const composed = composeFilters(this.filterList);
    this.filters = { ...composed, invoke: observer.wrapInvoke(composed.invoke) };
  }

  /** The transport layer's hand-over: a connection whose transport now runs. */
  onConnection(transport: TransportConnection): void {
    this.telemetry?.connectionOpened(transport);
    this.adopt(new ConnectionSession(this, transport));
  }

  /** A session starts here: a new connection's, or one that moved here from another server. */
  adopt(session: ConnectionSession): void {
    const { transport } = session.connection;
    this.sessions.set(transport, session);
    // One that moved here passed its handshake elsewhere; a new one is counted at its handshake.
    if (session.connection.handshakeComplete) this.userConnections.added(session.connection.userIdentifier);
    this.heartbeat.added();
    if (this.options.closeOnAuthenticationExpiration) closeOnExpiry(session, transport);
  }

  /**
   * Its stateful connections whose client is away here, waiting for it to come back (a
   * dropped or displaced socket, a drain's hand-over, one moved here before its socket): counted
   * when asked, nothing on the connection path.
   */
  get suspendedConnections(): number {
    let count = 0;
    for (const transport of this.sessions.keys()) if (transport.state === "suspended") count++;
    return count;
  }

  /**
   * A send, client result or group change of hub code failed. Logged in case nothing awaited it:
   * at debug when a client caused it (a bound it went past, a client result it did not give).
   */
  private callFailed(kind: ObservedCall, error: unknown): void {
    const byClient = kind === "client result" || error instanceof LimitExceededError;
    this.log.write(byClient ? dispatchLog.callRefusedByClient : dispatchLog.callFailed, { hub: this.descriptor.name, kind, error });
  }

  /** A session is over here (its connection closed, or moved to another server). */
  forget(session: ConnectionSession): void {
    const { connection } = session;
    const held = this.sessions.delete(connection.transport);
    this.heartbeat.removed();
    if (held && connection.handshakeComplete) this.userConnections.removed(connection.userIdentifier);
  }

  /**
   * Authenticates a request and applies the hub-level @Authorize rules (401 / 403); see
   * authenticateRequest for how a throwing `authenticate` or `userIdProvider` is refused.
   */
  async admit(request: HubRequest, token: string | undefined): Promise<Admission> {
    const admission = await authenticateRequest(this.admission, request, token);
    if ("status" in admission) return admission;
    const rules = this.descriptor.authorize;
    if (rules.length > 0) {
      if (admission.user === null) return { status: 401 };
      let allowed = false;
      try {
        allowed = await isAuthorized(rules, admission.user, this.policies, { hub: this.descriptor.name, request });
      } catch (error) {
        this.log.write(dispatchLog.policyThrew, { hub: this.descriptor.name, error });
      }
      if (!allowed) return { status: 403 };
    }
    return admission;
  }

  /** The method a wire target names, matched case-insensitively as in ASP.NET Core. */
  findMethod(target: string): HubMethodDescriptor | undefined {
    let method = this.methodsBySpelling.get(target);
    if (method === undefined) {
      method = this.descriptor.methods.get(target.toLowerCase());
      if (method && this.methodsBySpelling.size < 1024) this.methodsBySpelling.set(target, method);
    }
    return method;
  }

  /** A fresh hub instance wired to a connection. */
  createHub(session: ConnectionSession, scope: InvocationScopeView): THub {
    const hub = this.makeHub() as MutableHub;
    hub[invocationScopeKey] = scope;
    hub[callerKey] = session;
    hub.groups = this.groups;
    hub.connections = this.connections;
    return hub as unknown as THub;
  }

  /**
   * The server leaves its cluster (HubServer.drain). A stateful WebSocket connection that can
   * move drops its socket: its client reconnects through another server, and the connection
   * moves there with its state; one whose socket had dropped already waits for its client the
   * same way. Every other connection is sent a Close that allows
   * reconnecting. Resolves once each has moved away or ended (a client that never comes back
   * ends at the disconnect timeout).
   */
  async handOver(): Promise<void> {
    const sessions = [...this.sessions.values()];
    for (const session of sessions) {
      if (this.moves && session.movable && session.connection.transport.displaceTransport()) continue;
      session.connection.close({ type: 7, allowReconnect: true });
    }
    await Promise.all(sessions.map((s) => s.finished));
  }

  /**
   * Tells every connection the server is going away and waits for their onDisconnected. The
   * Close allows reconnecting: the client did nothing wrong, and a restarted (or another)
   * server can take it back. A transport takes at most `closeTimeoutMs` to close; each hub then
   * has as long for what it still runs (its onConnected, its onDisconnected, the lifetime
   * manager's). Past that, what has not settled is logged and left running: hub code that never
   * settles must not keep the server from closing.
   */
  async closeAll(closeTimeoutMs: number): Promise<void> {
    const sessions = [...this.sessions.values()];
    for (const session of sessions) session.connection.close({ type: 7, allowReconnect: true });
    if (!(await settlesWithin(Promise.all(sessions.map((s) => s.finished)), 2 * closeTimeoutMs))) {
      const running = sessions.filter((s) => !s.hasFinished).map((s) => ({ connectionId: s.connection.connectionId, waitingFor: s.waitingFor }));
      this.log.write(dispatchLog.closeLeftRunning, { hub: this.descriptor.name, waitedMs: 2 * closeTimeoutMs, connections: running.length, running });
    }
    this.heartbeat.stop();
    this.userConnections.close();
    this.invocationsHeldBack.close();
  }
}
