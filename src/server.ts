import "reflect-metadata";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { authenticateRequest } from "./dispatch/authentication.js";
import { checkPolicies } from "./dispatch/authorization.js";
import type { HubContext } from "./dispatch/hub-context.js";
import {
  resolveHubOptions,
  type AuthorizationPolicy,
  type HubOptions,
} from "./dispatch/hub-options.js";
import { HubRuntime } from "./dispatch/hub-runtime.js";
import { dispatchLog } from "./dispatch/dispatch-log.js";
import { containerActivator, typediActivator } from "./dispatch/typedi-activator.js";
import { HubwireError } from "./errors.js";
import { createLimitedServer } from "./http-server-limits.js";
import type { ClientOf, Hub } from "./hubs/hub.js";
import { describeHub, type HubClassType } from "./hubs/hub-descriptor.js";
import { InMemoryLifetimeManager } from "./lifetime/in-memory-lifetime-manager.js";
import type { ScaleOutStats } from "./lifetime/scale-out-lifetime-manager.js";
import { consoleLogger, LogWriter } from "./logger.js";
import { serverLog } from "./server-log.js";
import { settlesWithin } from "./settles-within.js";
import { loggablePath, transportLog } from "./transports/transport-log.js";
import type { HubProtocol } from "./protocol/hub-protocol.js";
import { jsonHubProtocol } from "./protocol/json-protocol.js";
import { messagePackHubProtocol } from "./protocol/messagepack-protocol.js";
import { ConnectionEndpoint, type AdmissionCheck } from "./transports/connection-endpoint.js";
import { allTransports, type TransportName } from "./transports/transport.js";
import { RawConnectionHandler, type RawConnectionListener } from "./transports/raw-connection.js";
import { MultiplexHandler } from "./transports/multiplex-handler.js";
import { carriedRevival } from "./transports/multiplex-revival.js";
import { createTelemetry } from "./telemetry/create-telemetry.js";
import type { HubTelemetry } from "./telemetry/hub-telemetry.js";
import { checkDashboardOptions, Dashboard, type DashboardOptions } from "./dashboard/dashboard.js";
import { dashboardHubClass } from "./dashboard/dashboard-hub.js";
import type { HubServerOptions, ListenAddress, MultiplexerOptions, RawEndpointOptions } from "./server-options.js";
import { ServerScaleOut } from "./server-scale-out.js";
import { EndpointPaths, pathOf } from "./endpoint-paths.js";
import { channelEndpointOf, defaultCloseTimeout, endpointOptionsFor, type EndpointShares } from "./endpoint-options.js";
import { ConnectionLimit, defaultMaximumConnections } from "./transports/connection-limit.js";

export type { HubServerOptions, ListenAddress, MultiplexerOptions, RawEndpointOptions } from "./server-options.js";

const supportedTransports: TransportName[] = [...allTransports];
const supportedProtocols: HubProtocol[] = [jsonHubProtocol, messagePackHubProtocol];

/**
 * A hubwire server: maps hubs on paths and serves their HTTP and WebSocket traffic, on its own
 * HTTP server (`listen`), on one you have (`attach`), or behind a framework
 * (`handleRequest` / `handleUpgrade`).
 *
 * @example
 * const server = new HubServer();
 * server.mapHub("/chat", ChatHub);
 * const { url } = await server.listen(5000);
 */
export class HubServer {
  private readonly endpoints = new EndpointPaths();
  private readonly runtimes = new Map<HubClassType, HubRuntime>();
  /** With a backplane: its hubs' lifetime managers. */
  private readonly scaleOut: ServerScaleOut | undefined;
  private readonly log: LogWriter;
  private readonly telemetry: HubTelemetry | undefined;
  /** What every endpoint shares of the server: its log, its metrics and its bound on connections. */
  private readonly shared: EndpointShares;
  /** Absent unless mounted: then every hub's calls pass through its recorder. */
  private dashboard: Dashboard | undefined;
  private httpServer: Server | undefined;
  private ownsHttpServer = false;
  private closed = false;

  constructor(private readonly options: HubServerOptions = {}) {
    // Wrapped once: no logger, the application's included, can throw into the code that logs.
    this.log = LogWriter.for(options.logger ?? consoleLogger());
    this.telemetry = createTelemetry(options.telemetry, this.log);
    const telemetry = this.telemetry;
    const connectionLimit = new ConnectionLimit(
      options.maximumConnections === undefined ? defaultMaximumConnections : options.maximumConnections,
      () => this.connectionCount,
      this.log,
      telemetry && (() => telemetry.connectionRefused()),
    );
    this.shared = { log: this.log, telemetry, connectionLimit };
    if (options.backplane) this.scaleOut = new ServerScaleOut(options.backplane, options.scaleOut, this.log, this.telemetry);
  }

  /**
   * Serves `hubClass` at `path` (matched case-insensitively). Fails here, at startup, for a badly
   * declared hub or an invalid option. Returns the hub's context, for sends from outside the hub.
   */
  mapHub<THub extends Hub<any>>(path: string, hubClass: HubClassType<THub>, options: HubOptions = {}): HubContext<ClientOf<THub>> {
    const { runtime } = this.mapHubWith(path, hubClass, options, this.options.policies ?? {});
    this.dashboard?.observe(path, runtime);
    return runtime.context as HubContext<ClientOf<THub>>;
  }

  private mapHubWith<THub extends Hub<any>>(
    path: string,
    hubClass: HubClassType<THub>,
    options: HubOptions,
    policies: Record<string, AuthorizationPolicy>,
  ): { runtime: HubRuntime<THub> } {
    const key = this.claimPath(path);
    const descriptor = describeHub(hubClass);
    if (descriptor.methods.size === 0) {
      this.log.write(dispatchLog.hubWithoutMethods, { hub: descriptor.name, path });
    }
    checkPolicies(descriptor, policies);
    const resolved = resolveHubOptions(options, this.options, {
      transports: supportedTransports,
      protocols: supportedProtocols.map((p) => p.name),
    });
    const protocols = supportedProtocols.filter((p) => resolved.protocols.includes(p.name));
    const runtime = new HubRuntime<THub>(descriptor, resolved, {
      log: this.log,
      activator: this.options.container ? containerActivator(this.options.container) : typediActivator,
      policies,
      // In memory, or shared over the backplane under the hub's name.
      lifetime:
        resolved.lifetimeManager ??
        this.scaleOut?.lifetimeFor(hubClass, descriptor.name, path, resolved, protocols) ??
        new InMemoryLifetimeManager({ maximumGroupsPerConnection: resolved.maximumGroupsPerConnection }),
      protocols,
      telemetry: this.telemetry,
      closeTimeoutMs: this.options.closeTimeout ?? defaultCloseTimeout,
    });
    this.telemetry?.observeSuspended(descriptor.name, () => runtime.suspendedConnections);
    // Crash recovery rebuilds a hub's connection that travelled in a multiplexed one at the multiplexing endpoint.
    runtime.moves?.attachCarriers(carriedRevival((muxPath) => this.endpoints.get(muxPath)?.multiplexer?.moves?.revival));
    const admit: AdmissionCheck = (request, token) => runtime.admit(request, token);
    const endpoint = new ConnectionEndpoint(path, endpointOptionsFor(this.options, this.shared, resolved, admit, resolved.allowStatefulReconnects, this.scaleOut), runtime);
    this.endpoints.set(key, { endpoint, runtime });
    if (!this.runtimes.has(hubClass)) this.runtimes.set(hubClass, runtime);
    return { runtime };
  }

  /**
   * Mounts a live dashboard (docs/observability.md): a page at `path` and its hub at
   * `${path}/hub`, showing this server's hubs, connections, groups, calls and backplane, and
   * every server of the cluster that mounts one too. Only users that `authorize` accepts get
   * any figure; the page itself is a shell with no data. Off unless mounted: a server without
   * it records nothing. A bearer token can be handed to the page in the address's fragment:
   * `/hubwire#access_token=…`.
   *
   * @example
   * server.mapDashboard("/hubwire", {
   *   authenticate: (request, token) => verify(token),
   *   authorize: (user) => (user as { admin: boolean }).admin,
   * });
   */
  mapDashboard(path: string, options: DashboardOptions): void {
    if (this.dashboard) throw new HubwireError("ERR_PATH_IN_USE", `A dashboard is already mounted at '${this.dashboard.path}'.`);
    const { authorize } = options ?? {};
    if (typeof authorize !== "function" && typeof authorize !== "string") {
      throw new HubwireError("ERR_INVALID_OPTION", "mapDashboard needs authorize: a policy function, or the name of one of the server's policies.");
    }
    checkDashboardOptions(options);
    const policies = { ...this.options.policies };
    if (typeof authorize === "string" && !Object.hasOwn(policies, authorize)) {
      throw new HubwireError("ERR_UNKNOWN_POLICY", `mapDashboard names the policy "${authorize}", but the server has no policy of that name.`);
    }
    const policy = typeof authorize === "string" ? authorize : "hubwire.dashboard";
    if (typeof authorize === "function") policies[policy] = authorize;
    const key = this.claimPath(path);
    this.claimPath(`${key}/hub`);
    const dashboard = new Dashboard(key, options, this.scaleOut?.backplane, this.log, this.shared.connectionLimit);
    const { runtime } = this.mapHubWith(`${key}/hub`, dashboardHubClass(dashboard, policy), {
      ...(options.authenticate ? { authenticate: options.authenticate } : {}),
      ...(options.userIdProvider ? { userIdProvider: options.userIdProvider } : {}),
      // Each server's viewers are its own; the servers share summaries on a channel of their own.
      lifetimeManager: new InMemoryLifetimeManager(),
    }, policies);
    dashboard.attachViewers(runtime, runtime.context);
    for (const [path, mapped] of this.endpoints.entries()) if (mapped.runtime && mapped.runtime !== runtime) dashboard.observe(path, mapped.runtime);
    this.endpoints.addPage(key);
    this.dashboard = dashboard;
  }

  /**
   * With a backplane: what this server sent the others for a hub (see ScaleOutStats), e.g. for a
   * health check. Undefined for a hub mapped without the built-in scale-out lifetime manager.
   *
   * @example
   * const stats = server.scaleOutStats(ChatHub);
   * if (stats && stats.waiting.messages > 0) console.warn("Redis is away; sends are waiting");
   */
  scaleOutStats(hubClass: HubClassType): ScaleOutStats | undefined {
    return this.scaleOut?.stats(hubClass);
  }

  /** Connections the server holds across its endpoints (negotiated, running or closing). */
  get connectionCount(): number {
    let count = 0;
    for (const { endpoint } of this.endpoints.values()) count += endpoint.connectionCount;
    return count;
  }

  /**
   * Serves a raw connection endpoint at `path`: no handshake, no hub protocol, just bytes both
   * ways over every transport (the official client's `HttpConnection` speaks to it).
   *
   * @example
   * server.mapConnection("/echo", (connection) => connection.onData((data) => connection.send(data)));
   */
  mapConnection(path: string, listener: RawConnectionListener, options: RawEndpointOptions = {}): void {
    const key = this.claimPath(path);
    const resolved = resolveHubOptions(options, this.options, {
      transports: supportedTransports,
      protocols: supportedProtocols.map((p) => p.name),
    });
    const { authenticate, userIdProvider, maximumAuthenticationExpiration } = resolved;
    const admission = { authenticate, userIdProvider, log: this.log, endpoint: path, maximumAuthenticationExpiration };
    const admit: AdmissionCheck | undefined = authenticate && ((request, token) => authenticateRequest(admission, request, token));
    const endpoint = new ConnectionEndpoint(path, endpointOptionsFor(this.options, this.shared, resolved, admit, false, this.scaleOut), new RawConnectionHandler(listener, this.log));
    this.endpoints.set(key, { endpoint });
  }

  /**
   * Serves hubwire's multiplexing extension at `path` (docs/multiplexing.md): one connection of
   * hubwire's client carries several of this server's hubs, each a connection of its own to its
   * hub (own handshake, protocol, id, user, groups, limits, authorization), opened and closed
   * while the connection lives. The hubs stay mapped at their own paths for every other client.
   *
   * @example
   * server.mapHub("/chat", ChatHub);
   * server.mapHub("/presence", PresenceHub);
   * server.mapMultiplexer("/hubs", { maximumHubsPerConnection: 8 });
   * // client: new HubMultiplexer(`${url}/hubs`).hub("/chat")
   */
  mapMultiplexer(path: string, options: MultiplexerOptions = {}): void {
    const { maximumHubsPerConnection = 16, ...endpointOptions } = options;
    if (!Number.isInteger(maximumHubsPerConnection) || maximumHubsPerConnection < 1) {
      throw new HubwireError("ERR_INVALID_OPTION", `maximumHubsPerConnection must be a positive integer, not ${String(maximumHubsPerConnection)}.`);
    }
    const key = this.claimPath(path);
    const resolved = resolveHubOptions(endpointOptions, this.options, {
      transports: supportedTransports,
      protocols: supportedProtocols.map((p) => p.name),
    });
    const endpointSettings = endpointOptionsFor(this.options, this.shared, resolved, undefined, true, this.scaleOut);
    const handler = new MultiplexHandler({
      path: key,
      recoveryWaitMs: endpointSettings.recoveryWaitMs,
      resolve: (hubPath) => channelEndpointOf(this.endpoints.get(hubPath)?.runtime),
      awaitsHolder: (token) => [...this.endpoints.values()].some(({ runtime }) => runtime?.moves?.awaitsHolder(token) ?? false),
      maximumHubsPerConnection,
      authenticationRefresh: resolved.authenticationRefresh,
      keepAliveIntervalMs: resolved.keepAliveInterval,
      clientTimeoutMs: resolved.clientTimeoutInterval,
      log: this.log,
    }, this.options.backplane !== undefined);
    // Stateful reconnect is each hub's to allow: the connection only waits for its client's new socket.
    this.endpoints.set(key, { endpoint: new ConnectionEndpoint(path, endpointSettings, handler), multiplexer: handler });
  }

  /** The clients and groups of a mapped hub, for code outside hub methods. */
  hubContext<THub extends Hub<any>>(hubClass: HubClassType<THub>): HubContext<ClientOf<THub>> {
    const runtime = this.runtimes.get(hubClass);
    if (!runtime) throw new HubwireError("ERR_HUB_NOT_MAPPED", `${hubClass.name} is not mapped on this server.`);
    return runtime.context as HubContext<ClientOf<THub>>;
  }

  /**
   * @internal The hub stack mapped at `path`, or undefined: what an in-process transport
   * (hubwire/testing) hands its connections to, in place of the HTTP endpoint.
   */
  hubRuntimeAt(path: string): HubRuntime | undefined {
    return this.endpoints.get(path)?.runtime;
  }

  /**
   * Serves a request if it is for one of the mapped paths; returns false (and leaves the
   * response alone) otherwise, so a framework can pass it on.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.dashboard && req.url && this.dashboard.handlePage(req, res, pathOf(req.url))) return true;
    const match = this.endpoints.match(req.url);
    if (!match) return false;
    match.mapped.endpoint.handleRequest(req, res, match.rest).catch((error: unknown) => {
      this.log.write(transportLog.requestFailed, { path: loggablePath(req.url), error });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
    return true;
  }

  /** Takes a WebSocket upgrade if it is for a mapped hub path; returns false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const match = this.endpoints.match(req.url);
    if (!match || match.rest !== "") return false;
    match.mapped.endpoint.handleUpgrade(req, socket, head);
    return true;
  }

  /**
   * Serves on an existing HTTP server. Requests for other paths still reach the server's own
   * request listeners; an upgrade nobody else listens for is refused with 404.
   */
  attach(httpServer: Server): this {
    const others = httpServer.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    httpServer.removeAllListeners("request");
    httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (this.handleRequest(req, res)) return;
      if (others.length === 0) {
        res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not Found");
        return;
      }
      for (const listener of others) listener.call(httpServer, req, res);
    });
    httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.handleUpgrade(req, socket, head)) return;
      if (httpServer.listenerCount("upgrade") === 1) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    this.httpServer = httpServer;
    return this;
  }

  private claimPath(path: string): string {
    if (this.closed) throw new HubwireError("ERR_SERVER_CLOSED", "The server is closed.");
    return this.endpoints.claim(path);
  }

  /**
   * Starts an HTTP server of its own, with `headersTimeout` and `requestTimeout` (slow or stalled
   * requests are ended within seconds). `port` 0 picks a free port.
   */
  async listen(port = 0, host = "127.0.0.1"): Promise<ListenAddress> {
    if (this.closed) throw new HubwireError("ERR_SERVER_CLOSED", "The server is closed.");
    const httpServer = createLimitedServer(this.options);
    this.attach(httpServer);
    this.ownsHttpServer = true;
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(port, host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
    const address = httpServer.address() as AddressInfo;
    const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return { host: address.address, port: address.port, url: `http://${shownHost}:${address.port}` };
  }

  /**
   * Shuts down cleanly: every hub connection is sent a Close message and its transport closed,
   * onDisconnected runs for each, timers stop, and an HTTP server started by `listen` closes.
   * Hub code that has not settled within twice `closeTimeout` (an onConnected or onDisconnected
   * that never returns) is logged and left running. Rejects when the backplane's `close()` does,
   * once the HTTP server has closed all the same.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const mapped = [...this.endpoints.values()];
    for (const { endpoint } of mapped) endpoint.stopAccepting();
    this.telemetry?.shutdown();
    await this.dashboard?.close();
    // Hub connections first, so each is sent its Close message before its transport ends;
    // then whatever is left (raw connections, connections negotiated but never started).
    const closeTimeout = this.options.closeTimeout ?? defaultCloseTimeout;
    await Promise.all(mapped.map(({ runtime }) => runtime?.closeAll(closeTimeout)));
    for (const { endpoint } of mapped) endpoint.close();
    this.shared.connectionLimit.close();
    try {
      await this.scaleOut?.close();
    } finally {
      // A backplane that fails to close must not leave the port open, answering 503.
      if (this.httpServer && this.ownsHttpServer) {
        const httpServer = this.httpServer;
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      }
    }
  }

  /**
   * Leaves a cluster without losing what its clients hold: call it on SIGTERM in a rolling deploy.
   * The HTTP server (started by `listen`, or given to `attach`) stops listening, so a load
   * balancer sends clients to the other servers, and negotiations get 503. Connections with stateful reconnect on
   * WebSockets drop their socket: each client reconnects through another server, and its
   * connection moves there with its id, user, groups and every message it has not acknowledged
   * (docs/scale-out.md), and so does a multiplexed connection with its stateful hubs; one whose
   * client is away already waits for it and moves the same way. Every
   * other connection is sent a Close that allows reconnecting, and the other multiplexed
   * connections end after their hubs were sent theirs.
   * Resolves once all have moved or ended, or after `timeout` ms (default 30 000), then closes
   * as `close()` does. Without a backplane there is nowhere to move: it is `close()`.
   *
   * @example
   * process.once("SIGTERM", () => void server.drain().then(() => process.exit(0)));
   */
  async drain(options: { timeout?: number } = {}): Promise<void> {
    if (this.closed) return;
    if (!this.options.backplane) return this.close();
    // Also a server of the application's (attach): the process is leaving, so is its listener.
    this.httpServer?.close();
    this.httpServer?.closeIdleConnections();
    const mapped = [...this.endpoints.values()];
    for (const { endpoint } of mapped) endpoint.stopAccepting();
    const timeout = options.timeout ?? 30_000;
    this.log.write(serverLog.draining, { connections: this.connectionCount, timeout });
    const handedOver = Promise.all(mapped.map(({ runtime }) => runtime?.handOver()));
    // Their hubs have just been told to reconnect, or dropped its socket to move: a multiplexed
    // connection that does not move ends with them, so its client reopens them on a new
    // connection through another server, not on this one.
    for (const { multiplexer } of mapped) multiplexer?.endAll();
    if (await settlesWithin(handedOver, timeout)) this.log.write(serverLog.drained);
    else this.log.write(serverLog.drainTimedOut, { connections: this.connectionCount, timeout });
    await this.close();
  }
}
