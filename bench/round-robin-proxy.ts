import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** What reached one backend through the proxy: `GET`, `POST`, `DELETE`, `negotiate` or `upgrade`, in order. */
export type ProxiedKind = "negotiate" | "upgrade" | "GET" | "POST" | "DELETE" | "OPTIONS";

/**
 * A round-robin load balancer on loopback with no sticky sessions: each HTTP request and each
 * WebSocket upgrade goes to the next backend in turn, whatever connection it came on (keep-alive
 * from the client does not pin it to a backend).
 */
export interface RoundRobinProxy {
  /** `http://127.0.0.1:<proxy port>` */
  url: string;
  /** Per backend (in the order given), what reached it. */
  readonly seen: ProxiedKind[][];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backendUrls: readonly string[]): Promise<RoundRobinProxy> {
  const backends = backendUrls.map((url) => new URL(url));
  const seen: ProxiedKind[][] = backends.map(() => []);
  const sockets = new Set<Duplex>();
  let next = 0;
  const pick = (req: IncomingMessage, upgrade: boolean) => {
    const index = next++ % backends.length;
    const path = (req.url ?? "").split("?")[0]!;
    seen[index]!.push(upgrade ? "upgrade" : path.endsWith("/negotiate") ? "negotiate" : (req.method as ProxiedKind));
    return backends[index]!;
  };

  const server: Server = createServer((req, res) => {
    const backend = pick(req, false);
    // A fresh connection per request (no agent): nothing ties two requests to one backend.
    const upstream = httpRequest(
      { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        // The client left (an aborted poll, a stopped SSE stream): the backend hears it too.
        res.on("close", () => answer.destroy());
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.on("aborted", () => upstream.destroy());
    req.pipe(upstream);
  });

  server.on("upgrade", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const backend = pick(req, true);
    const upstream: Socket = connect(Number(backend.port), backend.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    upstream.on("connect", () => {
      let head0 = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) head0 += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(head0 + "\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
