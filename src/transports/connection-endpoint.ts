import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { Logger } from "../logger.js";
import { ConnectionRegistry } from "./connection-registry.js";
import { bearerToken, ConnectionRequest } from "./connection-request.js";
import { rejectUpgrade, replyJson, replyText } from "./http-replies.js";
import { negotiateResponse, negotiateVersion } from "./negotiate.js";
import type { TransportName } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";
import { WebSocketTransport } from "./websocket-transport.js";

/** The verdict on a request: a user (anything, `null` for anonymous) or a refusal. */
export type Admission = { user: unknown } | { status: 401 | 403 };

/** Decides who may connect, from the request and its bearer token. */
export type AdmissionCheck = (request: ConnectionRequest, token: string | undefined) => Admission | Promise<Admission>;

/** Takes a connection once its transport runs, and gives it a receiver. */
export interface ConnectionHandler {
  onConnection(connection: TransportConnection): void;
}

export interface EndpointOptions {
  /** Transports offered, in fallback order. */
  transports: readonly TransportName[];
  admit?: AdmissionCheck;
  /** Origins allowed to open WebSockets; requests without an Origin header (non-browsers) pass. */
  allowedOrigins?: readonly string[];
  disconnectTimeoutMs: number;
  webSocketCloseTimeoutMs: number;
  /** Largest WebSocket frame accepted before the socket is closed with 1009. */
  maxWebSocketPayload: number;
  minimumNegotiateVersion: number;
  logger: Logger;
}

const anonymous: Admission = { user: null };

/**
 * The HTTP surface of one endpoint (a hub or a raw connection handler): negotiate, the
 * WebSocket upgrade and the status codes of the SignalR transport protocol.
 */
export class ConnectionEndpoint {
  private readonly registry: ConnectionRegistry;
  private readonly wss: WebSocketServer;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly options: EndpointOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.registry = new ConnectionRegistry(options.disconnectTimeoutMs);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxWebSocketPayload,
    });
  }

  /** Connections negotiated or running on this endpoint. */
  get connectionCount(): number {
    return this.registry.size;
  }

  /** `rest` is what follows the endpoint path: "" or "/negotiate". */
  async handleRequest(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    if (this.closed) return replyText(res, 503, "The server is shutting down.");
    if (rest === "/negotiate") {
      if (req.method !== "POST") return replyText(res, 405, "", { Allow: "POST" });
      return this.negotiate(req, res);
    }
    const request = new ConnectionRequest(req);
    const token = request.query.get("id");
    switch (req.method) {
      case "GET": {
        const sse = (request.header("accept") ?? "").includes("text/event-stream");
        const transport: TransportName = sse ? "ServerSentEvents" : "LongPolling";
        return replyText(res, 404, `${transport} transport not supported by this end point type`);
      }
      case "POST": {
        if (!token) return replyText(res, 400, "Connection ID required");
        const connection = this.registry.get(token);
        if (!connection) return replyText(res, 404, "No Connection with that ID");
        if (connection.transportName === "WebSockets") {
          return replyText(res, 405, "POST requests are not allowed for WebSocket connections.");
        }
        return replyText(res, 404, "No Connection with that ID");
      }
      case "DELETE": {
        if (!token) return replyText(res, 400, "Connection ID required");
        const connection = this.registry.get(token);
        if (!connection) return replyText(res, 404, "No Connection with that ID");
        return replyText(res, 400, "Cannot terminate this connection using the DELETE endpoint.");
      }
      default:
        return replyText(res, 405, "", { Allow: "GET, POST, DELETE" });
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws owns the socket, a reset must not surface as an unhandled 'error'.
    socket.on("error", () => {});
    this.upgrade(req, socket, head).catch((error: unknown) => {
      this.options.logger.error("WebSocket upgrade failed", { path: this.path, error });
      rejectUpgrade(socket, 500);
    });
  }

  /** Refuses new work and closes every connection this endpoint still holds. */
  close(): void {
    this.closed = true;
    this.registry.closeAll();
  }

  private async negotiate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = new ConnectionRequest(req);
    const admission = await this.admit(request, bearerToken(request, false));
    if ("status" in admission) return replyText(res, admission.status);
    const version = negotiateVersion(request.query, this.options.minimumNegotiateVersion);
    if ("error" in version) return replyJson(res, JSON.stringify({ error: version.error }));
    const connection = this.registry.create(version.version >= 1);
    replyJson(
      res,
      negotiateResponse(version.version, connection.connectionId, connection.connectionToken, this.options.transports),
    );
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closed) return rejectUpgrade(socket, 503, "The server is shutting down.");
    const origin = req.headers.origin;
    const allowed = this.options.allowedOrigins;
    if (origin && allowed && !allowed.includes("*") && !allowed.includes(origin)) {
      this.options.logger.warn("WebSocket origin refused", { path: this.path, origin });
      return rejectUpgrade(socket, 403, "Origin not allowed");
    }
    if (!this.options.transports.includes("WebSockets")) {
      return rejectUpgrade(socket, 404, "WebSockets transport not supported by this end point type");
    }
    const request = new ConnectionRequest(req);
    const admission = await this.admit(request, bearerToken(request, true));
    if ("status" in admission) return rejectUpgrade(socket, admission.status);

    const token = request.query.get("id");
    let connection: TransportConnection | undefined;
    if (token) {
      connection = this.registry.get(token);
      if (!connection) return rejectUpgrade(socket, 404, "No Connection with that ID");
      if (connection.state !== "negotiated") return rejectUpgrade(socket, 409);
    } else {
      connection = this.registry.create(false); // skipNegotiation: the connection starts here
    }
    if (socket.destroyed) return connection.close();
    const accepted = connection;
    accepted.state = "active"; // claimed now, so a second upgrade racing this one gets 409
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted.request = request;
      accepted.user = admission.user;
      accepted.transport = new WebSocketTransport(ws, accepted, this.options.webSocketCloseTimeoutMs);
      if (this.closed) return accepted.close();
      this.handler.onConnection(accepted);
    });
  }

  private async admit(request: ConnectionRequest, token: string | undefined): Promise<Admission> {
    return this.options.admit ? this.options.admit(request, token) : anonymous;
  }
}
