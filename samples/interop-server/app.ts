import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HubServer, type HubServerOptions } from "../../src/index.js";
import { InteropHub } from "./interop-hub.js";
import { signToken, verifyToken } from "./jwt.js";
import { AuthorizedHub, UncreatableHub } from "./other-hubs.js";
import { TestHub } from "./test-hub.js";

export interface InteropServer {
  hubs: HubServer;
  http: Server;
  /** `http://127.0.0.1:<port>` once listening. */
  url: string;
  close(): Promise<void>;
}

const negotiateCookies = [
  "testCookie=testValue; Path=/",
  "testCookie2=testValue2; Path=/",
  "expiredCookie=doesntmatter; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
];

/**
 * The server the official SignalR client's functional tests expect, on hubwire's public API.
 * Every hub runs with detailed errors on.
 */
export async function startInteropServer(port = 0, options: HubServerOptions = {}): Promise<InteropServer> {
  const hubs = new HubServer({ enableDetailedErrors: true, ...options });
  const testHub = hubs.mapHub("/testhub", TestHub);
  hubs.mapHub("/testhub-nowebsockets", TestHub, { transports: ["ServerSentEvents", "LongPolling"] });
  // A raw endpoint: no handshake, no hub protocol; every byte comes back as it came.
  hubs.mapConnection("/echo", (connection) => connection.onData((data) => connection.send(data)));
  hubs.mapHub("/authorizedhub", AuthorizedHub, {
    authenticate: (_request, token) => {
      const subject = verifyToken(token);
      return subject ? { sub: subject } : null;
    },
  });
  hubs.mapHub("/uncreatable", UncreatableHub);
  hubs.mapHub("/interophub", InteropHub, {
    // The user comes from a bearer token when there is one, else from the `user` query parameter.
    authenticate: (_request, token) => {
      const subject = verifyToken(token);
      return subject ? { sub: subject } : null;
    },
    userIdProvider: (user, request) =>
      (user as { sub?: string } | null)?.sub ?? request.query.get("user") ?? undefined,
  });

  let redirects = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.toLowerCase();
    if (req.method === "GET" && path === "/generatejwttoken") {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end(signToken("testuser", 5));
      return;
    }
    if (req.method === "GET" && path.startsWith("/clientresult/")) {
      // Asks that connection's client for Result() and answers with its value or its error text.
      const connectionId = decodeURIComponent(url.pathname.slice("/clientresult/".length));
      testHub.clients.client(connectionId).invoke("Result").then(
        (value) => res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end(String(value)),
        (error: Error) => res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end(error.message),
      );
      return;
    }
    if (path.startsWith("/redirect")) {
      redirects++;
      const body = JSON.stringify({ url: `${url.searchParams.get("baseUrl")}/testHub?numRedirects=${redirects}` });
      res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" }).end(body);
      return;
    }
    if (path.endsWith("/negotiate")) res.setHeader("Set-Cookie", negotiateCookies);
    if (!hubs.handleRequest(req, res)) res.writeHead(404, { "Content-Length": 0 }).end();
  });
  http.on("upgrade", (req, socket, head) => {
    if (!hubs.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  const { port: actual } = http.address() as AddressInfo;

  return {
    hubs,
    http,
    url: `http://127.0.0.1:${actual}`,
    async close() {
      await hubs.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
