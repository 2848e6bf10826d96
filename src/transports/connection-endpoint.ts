import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { pathOf, type EndpointRest } from "../endpoint-paths.js";
import type { LogWriter } from "../logger.js";
import { closeReason, inBandRefusalParameter, inBandRefusalValue, refusalCloseCode } from "../protocol/upgrade-refusal.js";
import { asError } from "../protocol/thrown-value.js";
import { transportLog } from "./transport-log.js";
import { adopt, ConnectionAdmission, endRejected, type AdmissionCheck, type Admitted } from "./connection-admission.js";
import type { ConnectionMoves } from "./connection-moves.js";
import type { ConnectionLimit } from "./connection-limit.js";
import { ConnectionRegistry } from "./connection-registry.js";
import { bearerToken, ConnectionRequest } from "./connection-request.js";
import { refreshAuthentication, refreshedConnectionToken, refuseRefresh, refuseUnknownConnection, tokenLifetimeSeconds } from "./authentication-refresh.js";
import { ConnectionRouter } from "./connection-router.js";
import type { RouteChannels, RouterOptions } from "./connection-router-types.js";
import type { ForwardedBody } from "./forwarded-body.js";
import { ForwardedReply } from "./forwarded-reply.js";
import { rejectUpgrade, replyJson, replyPollStarted, replyText, type HttpReply } from "./http-replies.js";
import { LongPollingTransport } from "./long-polling-transport.js";
import { negotiateResponse, negotiateVersion } from "./negotiate.js";
import { isPreflight, OriginPolicy } from "./origin-policy.js";
import type { BodyResult } from "./request-body.js";
import type { RoutedRequest } from "./routed-messages.js";
import { receiveSend, type SendContext } from "./connection-sends.js";
import { ServerSentEventsTransport } from "./server-sent-events-transport.js";
import type { TransportName } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";
import { WebSocketTransport } from "./websocket-transport.js";

export type { Admission, AdmissionCheck } from "./connection-admission.js";

/** Takes a connection once its transport runs, and gives it a receiver. */
export interface ConnectionHandler {
  onConnection(connection: TransportConnection): void;
  /** Present when its connections can move between servers (a hub over a backplane). */
  readonly moves?: ConnectionMoves | undefined;
}

export interface EndpointOptions {
  /** Transports offered, in fallback order. */
  transports: readonly TransportName[];
  admit?: AdmissionCheck;
  /** Browser origins allowed besides the endpoint's own (`"*"`: any, without credentials). */
  allowedOrigins?: readonly string[];
  disconnectTimeoutMs: number;
  /** How long a long poll is held when there is nothing to send. */
  pollTimeoutMs: number;
  /** How long a closing connection may take: a WebSocket's close handshake, a poller's last poll. */
  closeTimeoutMs: number;
  /** Largest WebSocket message or POST body read; past it the connection ends (see TransportConnection.receiveTooLarge). */
  maxIncomingPayload: number;
  /** Unsent bytes a connection may hold for a client that does not read before it is dropped. */
  maxBufferedBytes: number;
  /** Negotiated connections that may wait for their transport at once (see ConnectionRegistry). */
  maxNegotiatedConnections: number;
  /** The server's bound on its connections, shared by its endpoints; none: no bound. */
  connectionLimit?: ConnectionLimit | undefined;
  /** Told of each negotiated connection dropped past it (the server's metrics count it). */
  negotiatedDropped?: (() => void) | undefined;
  /** Told how each authentication refresh this server answered for its own connections ended (the metrics count it). */
  authenticationRefreshed?: ((outcome: string) => void) | undefined;
  /** Told of each request this server forwarded to another once it ended (see RouterOptions.forwarded; the metrics record it). */
  forwarded?: RouterOptions["forwarded"];
  minimumNegotiateVersion: number;
  /** Offer stateful reconnect to clients that ask for it (WebSockets only). */
  allowStatefulReconnects: boolean;
  /** Serve `<path>/refresh` (see HubOptions.authenticationRefresh). */
  authenticationRefresh: boolean;
  /**
   * Set when the server shares a backplane with others: a request for a connection another
   * server holds is served through it (see ConnectionRouter), so no sticky sessions are needed.
   */
  routeChannels?: RouteChannels | undefined;
  /** This server's id on the route channels: the one its hubs use on the backplane (ScaleOutOptions.serverId). */
  serverId?: string | undefined;
  /** With crash recovery on: see RouterOptions.recoveryWaitMs. */
  recoveryWaitMs?: number | undefined;
  log: LogWriter;
}

/** Requests one endpoint may have forwarded to other servers and waiting for their answer. */
const maxForwards = 10_000;

/** Bytes of POST bodies one endpoint may hold for other servers at once (read, and waiting to be taken there). */
const maxForwardedBytes = 64 * 1024 * 1024;

/** How long past the poll timeout a forwarded request may wait for its answer. */
const forwardGraceMs = 10_000;

/**
 * The HTTP surface of one endpoint (a hub or a raw connection handler): negotiate, the three
 * transports, sends and deletes, CORS, and the status codes of the SignalR transport protocol.
 */
export class ConnectionEndpoint {
  private readonly registry: ConnectionRegistry;
  private readonly wss: WebSocketServer;
  private readonly origins: OriginPolicy;
  private readonly admission: ConnectionAdmission;
  private readonly sends: SendContext;
  /** Only with a backplane: a single server has no other server to route to. */
  private readonly router: ConnectionRouter | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly options: EndpointOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.registry = new ConnectionRegistry(options.disconnectTimeoutMs, {
      maxBufferedBytes: options.maxBufferedBytes,
      maxNegotiatedConnections: options.maxNegotiatedConnections,
      log: { writer: options.log, path },
      negotiatedDropped: options.negotiatedDropped,
    });
    this.origins = new OriginPolicy(options.allowedOrigins);
    this.admission = new ConnectionAdmission(options.admit, path, options.log, options.authenticationRefresh);
    this.sends = { path, admission: this.admission, maxIncomingPayload: options.maxIncomingPayload, log: options.log };
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxIncomingPayload,
      // The transport answers pings itself (see WebSocketTransport): ws's answer keeps a closure on every socket.
      autoPong: false,
    });
    if (options.routeChannels) {
      const router = new ConnectionRouter({
        channels: options.routeChannels,
        serverId: options.serverId,
        path,
        registry: this.registry,
        serve: (connection, request, reply, body) => this.serveForwarded(connection, request, reply, body),
        moves: handler.moves,
        recoveryWaitMs: options.recoveryWaitMs,
        standbyWaitMs: options.recoveryWaitMs === undefined ? undefined : options.disconnectTimeoutMs,
        timeoutMs: options.pollTimeoutMs + forwardGraceMs,
        maxForwards,
        maxForwardedBytes,
        forwarded: options.forwarded,
        log: options.log,
      });
      this.registry.onForget = (connection) => router.release(connection);
      this.router = router;
    }
  }

  /** Whether it serves `<path>/refresh` (see HubOptions.authenticationRefresh). */
  get servesAuthenticationRefresh(): boolean {
    return this.options.authenticationRefresh;
  }

  /** Connections negotiated or running on this endpoint. */
  get connectionCount(): number {
    return this.registry.size;
  }

  /** `rest` is what follows the endpoint path (see EndpointRest). */
  async handleRequest(req: IncomingMessage, res: ServerResponse, rest: EndpointRest): Promise<void> {
    const verdict = this.origins.check(req);
    if (isPreflight(req)) return this.origins.answerPreflight(req, res, verdict);
    if (verdict === "refused") {
      this.options.log.write(transportLog.refusedOrigin, { path: this.path, origin: req.headers.origin });
      return replyText(res, 403, "Origin not allowed");
    }
    this.origins.applyCors(req, res, verdict);
    if (rest === "/negotiate") {
      if (req.method !== "POST") return this.refuseMethod(new ConnectionRequest(req), res, "POST");
      return this.negotiate(req, res);
    }
    if (rest === "/refresh") {
      if (req.method !== "POST") return this.refuseMethod(new ConnectionRequest(req), res, "POST");
      return this.refresh(req, res);
    }
    const request = new ConnectionRequest(req);
    const token = request.connectionToken();
    switch (req.method) {
      case "GET":
        return this.receive(res, request, token);
      case "POST":
        return this.send(req, res, request, token);
      case "DELETE": {
        if (!token) return replyText(res, 400, "Connection ID required");
        const connection = this.registry.get(token) ?? (await this.elsewhere(res, request, token, "DELETE"));
        return connection && this.delete(res, request, connection);
      }
      default:
        return this.refuseMethod(request, res, "GET, POST, DELETE");
    }
  }

  /**
   * A method the path does not take: 405, once the hub's admission has let the request through
   * (a hub that refuses the user answers 401 or 403 first, as ASP.NET Core's authorization does).
   */
  private async refuseMethod(request: ConnectionRequest, res: ServerResponse, allow: string): Promise<void> {
    const admission = await this.admission.admit(request, bearerToken(request, false));
    if ("status" in admission) return this.admission.refuse(request, res, admission);
    replyText(res, 405, "", { Allow: allow });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws owns the socket, a reset must not surface as an unhandled 'error'.
    socket.on("error", ignoreError);
    this.upgrade(req, socket, head).catch((error: unknown) => {
      this.options.log.write(transportLog.upgradeFailed, { path: this.path, error });
      rejectUpgrade(socket, 500);
    });
  }

  /** Refuses new connections; the ones that exist go on until they are closed. */
  stopAccepting(): void {
    this.closed = true;
  }

  /** Refuses new connections and closes every connection this endpoint still holds. */
  close(): void {
    this.closed = true;
    this.registry.closeAll();
    this.router?.close();
  }

  private async negotiate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // While shutting down, connections that exist still poll and send (to hear their Close); new ones are refused.
    if (this.closed) return replyText(res, 503, "The server is shutting down.");
    // Before the admission: a server that can take no one runs no authentication for a flood.
    if (!this.admitsNewConnection()) return replyText(res, 503, tooManyConnections);
    const request = new ConnectionRequest(req);
    const admission = await this.admission.admit(request, bearerToken(request, false));
    if ("status" in admission) return this.admission.refuse(request, res, admission);
    const version = negotiateVersion(request.queryValue("negotiateVersion"), this.options.minimumNegotiateVersion);
    if ("error" in version) return replyJson(res, JSON.stringify({ error: version.error }));
    const connection = this.registry.negotiate(version.version >= 1);
    connection.identity = admission.identity;
    connection.statefulReconnect = this.options.allowStatefulReconnects && request.queryIsTrue("useStatefulReconnect");
    // Findable from every server before the client hears of it: its next request may reach any.
    await this.router?.hold(connection);
    const lifetime = this.options.authenticationRefresh ? tokenLifetimeSeconds(admission.expiresAt) : undefined;
    replyJson(
      res,
      negotiateResponse(version.version, connection.connectionId, connection.connectionToken, this.options.transports, connection.statefulReconnect, lifetime),
    );
  }

  /** An authentication refresh: served where the connection is, as any request of it (see refreshAuthentication). */
  private async refresh(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = new ConnectionRequest(req);
    const token = refreshedConnectionToken(request);
    if (!token) return this.refreshAnswered(refuseRefresh(res, 400, "missing_connection_token", "The connection token is required."));
    const local = this.registry.get(token);
    if (local) return this.refreshAnswered(await refreshAuthentication(res, request, local, this.admission));
    if (!this.router) return this.refreshAnswered(refuseUnknownConnection(res));
    // Counted where the connection is, which answers it.
    return this.router.sendElsewhere(req, res, request, token, this.options.maxIncomingPayload);
  }

  private refreshAnswered(outcome: string): void {
    this.options.authenticationRefreshed?.(outcome);
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closed) return rejectUpgrade(socket, 503, "The server is shutting down.");
    if (this.origins.check(req) === "refused") {
      this.options.log.write(transportLog.refusedOrigin, { path: this.path, origin: req.headers.origin, transport: "WebSockets" });
      return rejectUpgrade(socket, 403, "Origin not allowed");
    }
    if (!this.options.transports.includes("WebSockets")) {
      return rejectUpgrade(socket, 404, "WebSockets transport not supported by this end point type");
    }
    const request = new ConnectionRequest(req);
    const token = request.connectionToken();
    // A WebSocket that skips negotiate makes a new connection: bounded as a negotiate is.
    if (!token && !this.admitsNewConnection()) return rejectUpgrade(socket, 503, tooManyConnections);
    const admission = await this.admission.admit(request, bearerToken(request, true));
    if ("status" in admission) {
      this.admission.refused(request, admission.status);
      return rejectUpgrade(socket, admission.status, admission.reason);
    }

    let connection: TransportConnection | undefined;
    if (token) {
      connection = this.registry.get(token);
      if (!connection) {
        const upgrade: Upgrade = { req, socket, head, request };
        if (!this.router) return this.refuseUpgrade(upgrade, 404, "No Connection with that ID");
        connection = await this.router.upgradeElsewhere(socket, request, token, (status, reason) => this.refuseUpgrade(upgrade, status, reason));
        if (!connection) return; // answered there
      }
      // A stateful connection's new socket is a later request of it, as a poll is (its hubs, for
      // a multiplexed connection maybe just moved here, admit it again); any other's is the first.
      const refusal = connection.resumable
        ? await this.admission.laterRefusal(connection, admission, request, bearerToken(request, true))
        : this.admission.otherUser(connection, admission);
      if (refusal) {
        rejectUpgrade(socket, refusal.status, refusal.reason);
        if (refusal.refreshRejected) endRejected(connection);
        return;
      }
      // A stateful connection's client is back while its old socket still looks open: that
      // socket is dead on the client's side (a half-open drop). As in ASP.NET Core, the new
      // socket takes over and the old one is dropped, instead of refusing the client with 409.
      connection.displaceTransport();
      if (connection.claimSuspended()) return this.resume(connection, admission, req, socket, head);
      if (connection.state !== "negotiated") {
        const { status, reason } = connection.upgradeRefusal;
        return rejectUpgrade(socket, status, reason);
      }
    } else {
      connection = this.registry.create(false); // skipNegotiation: the connection starts here
    }
    if (socket.destroyed) return connection.close();
    const accepted = connection;
    accepted.state = "active"; // claimed now, so a second upgrade racing this one gets 409
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.removeListener("error", ignoreError); // ws has its own now
      accepted.request = request;
      adopt(accepted, admission);
      accepted.transport = new WebSocketTransport(ws, socket, accepted, this.options);
      if (this.closed) return accepted.close();
      this.start(accepted);
    });
  }

  /**
   * Refuses an upgrade with `status`, as an HTTP answer. A 404 (no such connection) goes in band
   * to a client that asked for it (protocol/upgrade-refusal.ts): the socket opens and closes at
   * once with code 4404, which a browser reads where it cannot read an HTTP status.
   */
  private refuseUpgrade({ req, socket, head, request }: Upgrade, status: number, reason: string): void {
    if (status !== 404 || request.param(inBandRefusalParameter) !== inBandRefusalValue || socket.destroyed) return rejectUpgrade(socket, status, reason);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.removeListener("error", ignoreError); // ws has its own now
      ws.close(refusalCloseCode(status), closeReason(reason));
      // A client that does not answer the close is not waited for longer than any other.
      const timer = setTimeout(() => ws.terminate(), this.options.closeTimeoutMs);
      ws.once("close", () => clearTimeout(timer));
    });
  }

  /** Stateful reconnect: a suspended connection's client is back; its new socket takes over. */
  private resume(connection: TransportConnection, admission: Admitted, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (socket.destroyed) return connection.releaseClaim();
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.removeListener("error", ignoreError); // ws has its own now
      if (connection.isClosed) return ws.terminate(); // timed out meanwhile
      this.admission.adopt(connection, admission);
      connection.resume(new WebSocketTransport(ws, socket, connection, this.options));
    });
  }

  /** A GET: the SSE stream, or a long poll (the first one starts the connection). */
  private async receive(res: ServerResponse, request: ConnectionRequest, token: string | null): Promise<void> {
    const sse = (request.header("accept") ?? "").includes("text/event-stream");
    const kind: TransportName = sse ? "ServerSentEvents" : "LongPolling";
    if (!this.options.transports.includes(kind)) {
      return replyText(res, 404, `${kind} transport not supported by this end point type`);
    }
    if (!token) return replyText(res, 400, "Connection ID required");
    const connection = this.registry.get(token) ?? (await this.elsewhere(res, request, token, "GET"));
    if (!connection) return;
    return this.receiveOn(res, request, connection, sse);
  }

  /** A GET of a connection this server holds; `res` is a ForwardedReply when another server received it. */
  private async receiveOn(res: ServerResponse | ForwardedReply, request: ConnectionRequest, connection: TransportConnection, sse: boolean): Promise<void> {
    const kind: TransportName = sse ? "ServerSentEvents" : "LongPolling";
    // Every request authenticates again, as its connection's user (a connection already over
    // only hears so: its token may have expired, which is why). Browsers cannot set headers on
    // an EventSource, so SSE may carry its token in the query.
    const admission = connection.isClosed ? undefined : await this.admission.readmit(connection, request, sse);
    if (admission && "status" in admission) {
      return sse ? this.admission.refuse(request, res, admission, {}, connection) : this.admission.refusePoll(request, res, admission, connection);
    }
    // Its client left while it was authenticated (or routed here): the response has told its
    // "close" already, so a stream or poll on it would never end and what it took would be lost.
    // The connection stays as it was: one that never got its transport is dropped by the sweeper.
    if (res.destroyed) return;
    if (connection.transport) {
      if (connection.transportName !== kind) return replyText(res, 400, "Cannot change transports mid-connection");
      if (sse) return replyText(res, 409, "A Server-Sent Events stream is already open for this connection.");
      if (admission && !connection.isClosed) this.admission.adopt(connection, admission); // a fresh token may extend the authentication
      const over = (connection.transport as LongPollingTransport).attachPoll(res);
      if (over) this.registry.forget(connection); // the client has been told: nothing more to keep
      return;
    }
    // A forwarded request never starts a transport: the connection moves to its server instead.
    if (connection.state !== "negotiated" || !admission || res instanceof ForwardedReply) return replyText(res, 404, "No Connection with that ID");
    if (this.closed) return replyText(res, 503, "The server is shutting down.");
    connection.request = request;
    adopt(connection, admission);
    connection.state = "active";
    if (sse) {
      connection.transport = new ServerSentEventsTransport(res, connection);
    } else {
      const transport = new LongPollingTransport(connection, this.options.pollTimeoutMs, this.options.closeTimeoutMs);
      connection.transport = transport;
    }
    if (!this.start(connection)) return replyText(res, 500, "The connection could not be started.");
    // The first poll is answered at once: it tells the client the connection is up.
    if (!sse) replyPollStarted(res);
  }

  /** Whether the server may take one more connection (see ConnectionLimit). */
  private admitsNewConnection(): boolean {
    return this.options.connectionLimit?.admitsNew() ?? true;
  }

  /** Hands a connection whose transport runs to the handler; a handler that throws costs only that connection. */
  private start(connection: TransportConnection): boolean {
    try {
      this.handler.onConnection(connection);
      return true;
    } catch (error) {
      const fields = { path: this.path, connectionId: connection.connectionId, error };
      this.options.log.write(transportLog.startFailed, fields);
      connection.abort(asError(error));
      return false;
    }
  }

  /** A POST: client-to-server data for an SSE or long-polling connection. */
  private async send(req: IncomingMessage, res: ServerResponse, request: ConnectionRequest, token: string | null): Promise<void> {
    if (!token) return replyText(res, 400, "Connection ID required");
    const local = this.registry.get(token);
    if (local) return receiveSend(this.sends, res, request, local, { request: req });
    if (!this.router) return replyText(res, 404, "No Connection with that ID");
    return this.router.sendElsewhere(req, res, request, token, this.options.maxIncomingPayload);
  }

  /** A DELETE: a long-polling client leaving. */
  private async delete(res: HttpReply, request: ConnectionRequest, connection: TransportConnection): Promise<void> {
    if (connection.transportName !== "LongPolling") {
      return replyText(res, 400, "Cannot terminate this connection using the DELETE endpoint.");
    }
    // A connection already over is only forgotten: its client may no longer hold a valid token.
    if (!connection.isClosed) {
      const admission = await this.admission.readmit(connection, request, false);
      if ("status" in admission) return this.admission.refuse(request, res, admission, {}, connection);
    }
    connection.transport!.abort(); // releases the pending poll with 204 and ends the connection
    this.registry.forget(connection);
    replyText(res, 202);
  }

  /**
   * A request for a connection this server does not hold: with a router, the server that holds it
   * answers (see ConnectionRouter.serveElsewhere); without, 404, as ASP.NET Core answers.
   */
  private async elsewhere(res: ServerResponse, request: ConnectionRequest, token: string, method: "GET" | "DELETE"): Promise<TransportConnection | undefined> {
    if (this.router) return this.router.serveElsewhere(res, request, token, method);
    replyText(res, 404, "No Connection with that ID");
    return undefined;
  }

  /** A request another server forwarded, for a connection this server holds; `body`: a POST's that comes in parts. */
  private async serveForwarded(connection: TransportConnection, routed: RoutedRequest, reply: ForwardedReply, body?: ForwardedBody): Promise<void> {
    const request = new ConnectionRequest({ url: routed.url, headers: routed.headers, socket: { remoteAddress: routed.remoteAddress } });
    switch (routed.method) {
      case "GET":
        return this.receiveOn(reply, request, connection, (request.header("accept") ?? "").includes("text/event-stream"));
      case "POST": {
        if (pathOf(routed.url).endsWith("/refresh")) return this.refreshAnswered(await refreshAuthentication(reply, request, connection, this.admission));
        if (body) return receiveSend(this.sends, reply, request, connection, { request: body });
        const { body: whole, tooLarge } = routed;
        const payload: BodyResult = tooLarge ? { tooLarge } : { body: whole ? Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength) : Buffer.alloc(0) };
        return receiveSend(this.sends, reply, request, connection, { read: payload });
      }
      case "DELETE":
        return this.delete(reply, request, connection);
      default:
        return replyText(reply, 405, "");
    }
  }
}

/** The answer to a new connection past the server's maximumConnections. */
const tooManyConnections = "The server has reached its maximum number of connections.";

/** A shared listener: one closure per socket would live as long as the socket. */
function ignoreError(): void {}

/** A WebSocket upgrade being answered: what refusing it needs (see refuseUpgrade). */
interface Upgrade {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  request: ConnectionRequest;
}
