import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubServerOptions } from "../../src/index.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** What ResumeHub saw: connects and disconnects in order, and how many times Count ran. */
export const resumeLog = { events: [] as string[], counted: 0, lastError: undefined as Error | undefined };

export function resetResumeLog(): void {
  resumeLog.events.length = 0;
  resumeLog.counted = 0;
  resumeLog.lastError = undefined;
}

export interface ResumeClient {
  tick(n: number): void;
  note(text: string): void;
}

/** A hub for stateful reconnect tests: it records its connection's life and what ran. */
@HubClass()
export class ResumeHub extends Hub<ResumeClient> {
  override onConnected(): void {
    resumeLog.events.push(`connected ${this.context.connectionId}`);
  }

  override onDisconnected(error?: Error): void {
    resumeLog.events.push(`disconnected ${error ? "with an error" : "cleanly"}`);
    resumeLog.lastError = error;
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }

  @HubMethod("Echo")
  echo(value: string): string {
    return value;
  }

  @HubMethod("Count")
  count(): void {
    resumeLog.counted++;
  }

  @HubMethod("Slow")
  async slow(ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return "done";
  }
}

export interface ResumeServer {
  server: HubServer;
  proxy: TcpProxy;
  /** Connections the server's side still holds; 0 once it has seen a cut of all of them. */
  openSockets(): number;
  /** Every request the server received, in order: "negotiate", or "upgrade" with the connection token it named, if any. */
  readonly requests: string[];
  /** Closes the proxy, the hub server and its HTTP server. */
  close(): Promise<void>;
}

/** ResumeHub at `/resume` on a server that allows stateful reconnects, behind a proxy that can cut its connections. */
export async function startResumeServer(options: HubServerOptions = {}): Promise<ResumeServer> {
  const server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true, ...options });
  server.mapHub("/resume", ResumeHub);
  // An HTTP server of the test's own, to see the server's side of each connection close.
  const http = createServer();
  server.attach(http);
  const requests: string[] = [];
  http.prependListener("request", (req: IncomingMessage) => {
    if (req.url?.includes("/negotiate")) requests.push("negotiate");
  });
  http.prependListener("upgrade", (req: IncomingMessage) => {
    const token = new URL(req.url ?? "/", "http://localhost").searchParams.get("id");
    requests.push(token ? `upgrade ${token}` : "upgrade");
  });
  const sockets = new Set<Socket>();
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const proxy = await startTcpProxy((http.address() as AddressInfo).port);
  return {
    server,
    proxy,
    openSockets: () => sockets.size,
    requests,
    async close() {
      await proxy.close();
      await server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
