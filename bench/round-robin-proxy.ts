import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** What reached one backend through the proxy: `GET`, `POST`, `DELETE`, `negotiate` or `upgrade`, in order. */
export type ProxiedKind = "negotiate" | "upgrade" | "GET" | "POST" | "DELETE" | "OPTIONS";

/**
 * A round-robin load balancer on loopback with no sticky sessions: each HTTP request and each
 * WebSocket upgrade goes to the next backend in turn, whatever connection it came on (keep-alive
 * from the client does not pin it to a backend). A backend that refuses connections is skipped.
 */
export interface RoundRobinProxy {
  /** `http://127.0.0.1:<proxy port>` */
  url: string;
  /** Per backend (in the order given), what reached it. */
  readonly seen: ProxiedKind[][];
  /** Drops every WebSocket proxied now (or only those to backend `backend`), as a network does (the client sees its socket gone). */
  cutWebSockets(backend?: number): void;
  close(): Promise<void>;
}

/**
 * `upgradesInTurn`: WebSocket upgrades take turns among themselves, apart from the HTTP requests,
 * so that N clients' sockets spread over the backends evenly whatever else each asked first (by
 * default one turn serves both, and which backend a client's socket reaches depends on how the
 * clients' requests interleave).
 */
export async function startRoundRobinProxy(backendUrls: readonly string[], options: { upgradesInTurn?: boolean } = {}): Promise<RoundRobinProxy> {
  const backends = backendUrls.map((url) => new URL(url));
  const seen: ProxiedKind[][] = backends.map(() => []);
  const sockets = new Set<Duplex>();
  /** Client sides of the WebSockets proxied now (see cutWebSockets). */
  const webSockets = new Map<Duplex, number>();
  let next = 0;
  let nextUpgrade = 0;
  /** The backend for a request's attempt `attempt` (0 first): the next in turn, then the ones after it. */
  const pick = (first: number, attempt: number) => {
    const index = (first + attempt) % backends.length;
    return { index, url: backends[index]! };
  };
  const record = (index: number, req: IncomingMessage, upgrade: boolean) => {
    const path = (req.url ?? "").split("?")[0]!;
    seen[index]!.push(upgrade ? "upgrade" : path.endsWith("/negotiate") ? "negotiate" : (req.method as ProxiedKind));
  };

  const server: Server = createServer((req, res) => {
    // A backend that refuses connections (it stopped listening: a rolling restart) is skipped
    // for the next one, as load balancers do; the request's body is read only once one took it.
    const first = next++;
    const forward = (attempt: number) => {
      const backend = pick(first, attempt);
      let connected = false;
      // A fresh connection per request (no agent): nothing ties two requests to one backend.
      const upstream = httpRequest(
        { host: backend.url.hostname, port: backend.url.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          // The client left (an aborted poll, a stopped SSE stream): the backend hears it too.
          res.on("close", () => answer.destroy());
        },
      );
      upstream.on("socket", (socket) =>
        socket.once("connect", () => {
          connected = true;
          record(backend.index, req, false);
          req.pipe(upstream);
        }),
      );
      upstream.on("error", (error: NodeJS.ErrnoException) => {
        if (!connected && error.code === "ECONNREFUSED" && attempt + 1 < backends.length) return forward(attempt + 1);
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.on("aborted", () => upstream.destroy());
    };
    forward(0);
  });

  server.on("upgrade", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    sockets.add(client);
    client.on("error", () => {});
    client.on("close", () => sockets.delete(client));
    const first = options.upgradesInTurn ? nextUpgrade++ : next++;
    const forward = (attempt: number) => {
      const backend = pick(first, attempt);
      const upstream: Socket = connect(Number(backend.url.port), backend.url.hostname);
      let connected = false;
      upstream.on("error", (error: NodeJS.ErrnoException) => {
        if (!connected && error.code === "ECONNREFUSED" && attempt + 1 < backends.length) return forward(attempt + 1);
        client.destroy();
      });
      upstream.on("connect", () => {
        connected = true;
        record(backend.index, req, true);
        sockets.add(upstream);
        webSockets.set(client, backend.index);
        upstream.on("close", () => sockets.delete(upstream));
        client.on("close", () => webSockets.delete(client));
        let head0 = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (let i = 0; i < req.rawHeaders.length; i += 2) head0 += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
        upstream.write(head0 + "\r\n");
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
        upstream.on("close", () => client.destroy());
        client.on("close", () => upstream.destroy());
      });
    };
    forward(0);
  });

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    cutWebSockets: (backend?: number) => {
      for (const [socket, index] of webSockets) if (backend === undefined || index === backend) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
