import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, type TransportKind } from "../../client/index.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { waitFor } from "../support/wait.js";

/** What the test does when the server sees a hub connection begin and end. */
const lifecycle = { connected: () => {}, disconnected: () => {} };

@HubClass()
class LifecycleHub extends Hub {
  override onConnected(): void {
    lifecycle.connected();
  }
  override onDisconnected(): void {
    lifecycle.disconnected();
  }
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }
}

const stopped = "The connection was stopped before the hub handshake could complete.";

describe.each([["WebSockets"], ["ServerSentEvents"], ["LongPolling"]] as Array<[TransportKind]>)("stop() while start() runs, over %s", (transport) => {
  let server: HubServer | undefined;
  let http: Server | undefined;
  let url = "";
  afterEach(async () => {
    lifecycle.connected = lifecycle.disconnected = () => {};
    await server?.close();
    // Sockets the client's fetch keeps alive would hold close() for seconds.
    http?.closeAllConnections();
    await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
    http = undefined;
  });

  async function startServer(port = 0): Promise<void> {
    if (http) {
      http.closeAllConnections();
      await new Promise((resolve) => http!.close(resolve));
    }
    server = new HubServer({ logger: silentLogger, closeTimeout: 500 });
    server.mapHub("/lifecycle", LifecycleHub);
    http = createServer();
    server.attach(http);
    await new Promise<void>((resolve) => http!.listen(port, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/lifecycle`;
  }

  it("during the handshake: start() rejects, the server sees the connection end, and a new start() works", async () => {
    await startServer();
    const connection = new HubConnection(url, { transports: [transport] });
    const closes: unknown[] = [];
    connection.onClose((error) => closes.push(error));
    let stopping: Promise<void> | undefined;
    const serverSawEnd = new Promise<void>((resolve) => (lifecycle.disconnected = resolve));
    // The server has sent its handshake answer; the client has not read it yet.
    lifecycle.connected = () => void (stopping ??= connection.stop());

    await expect(connection.start()).rejects.toMatchObject({ code: "ERR_CANCELED", message: stopped });
    await stopping;
    expect(connection.state).toBe("Disconnected");
    await serverSawEnd;
    await waitFor(() => server!.connectionCount === 0, "the server to let the connection go");
    expect(closes).toEqual([]); // start() reported it; the connection never opened

    lifecycle.connected = () => {};
    await connection.start();
    expect(await connection.invoke("Echo", "again")).toBe("again");
    await connection.stop();
  });

  it("while the transport opens: start() rejects and nothing stays open", async () => {
    await startServer();
    const connection = new HubConnection(url, { transports: [transport] });
    let connected = 0;
    lifecycle.connected = () => connected++;
    let stopping: Promise<void> | undefined;
    // The server has just seen the transport's first request (the upgrade, the stream, the first poll).
    const stopOnTransportRequest = (request: { url?: string }) => {
      if (request.url?.includes("id=")) stopping ??= connection.stop();
    };
    http!.prependListener("upgrade", stopOnTransportRequest);
    http!.prependListener("request", stopOnTransportRequest);

    await expect(connection.start()).rejects.toMatchObject({ code: "ERR_CANCELED", message: stopped });
    await stopping;
    expect(connection.state).toBe("Disconnected");
    await waitFor(() => server!.connectionCount === 0, "the server to let the connection go");
    expect(connected).toBe(0);
  });

  it("during a reconnect's handshake: the connection closes once, and the server sees it end", async () => {
    await startServer();
    const connection = new HubConnection(url, { transports: [transport], reconnect: { nextDelay: () => 10 } });
    await connection.start();
    const closes: unknown[] = [];
    connection.onClose((error) => closes.push(error));
    const reconnecting = new Promise((resolve) => connection.onReconnecting(resolve));
    let stopping: Promise<void> | undefined;
    const serverSawEnd = new Promise<void>((resolve) => (lifecycle.disconnected = resolve));
    lifecycle.connected = () => void (stopping ??= connection.stop());

    // The server drops the connection and asks the client to come back: it reconnects.
    const port = Number(new URL(url).port);
    await server!.close();
    await reconnecting;
    await serverSawEnd; // the first connection's end
    const ended = new Promise<void>((resolve) => (lifecycle.disconnected = resolve));
    await startServer(port);
    await waitFor(() => stopping !== undefined, "the reconnect to reach the server");
    await stopping;
    expect(connection.state).toBe("Disconnected");
    expect(closes).toEqual([undefined]);
    await ended; // the reconnected one's
    await waitFor(() => server!.connectionCount === 0, "the server to let the connection go");
  });

  it("while the transport waits for its access token: start() rejects, and no transport opens once the token comes", async () => {
    await startServer();
    // The first token (negotiate's) comes at once; the transport's comes when the test gives it.
    let tokens = 0;
    let giveToken = () => {};
    let transportAsked = () => {};
    const transportAsks = new Promise<void>((resolve) => (transportAsked = resolve));
    const accessTokenFactory = () => {
      if (++tokens !== 2) return "token";
      transportAsked();
      return new Promise<string>((resolve) => (giveToken = () => resolve("token")));
    };
    const connection = new HubConnection(url, { transports: [transport], accessTokenFactory, headers: { "x-test-client": "stopped" } });
    // What opens a transport (an upgrade, a stream, a poll), not the DELETE that ends it.
    const transportRequests: string[] = [];
    const record = (request: IncomingMessage) => {
      if (request.method === "GET" && request.url?.includes("id=") && request.headers["x-test-client"] === "stopped") transportRequests.push(request.url);
    };
    http!.on("upgrade", record);
    http!.on("request", record);

    const starting = connection.start();
    await transportAsks;
    const stopping = connection.stop();
    await expect(starting).rejects.toMatchObject({ code: "ERR_CANCELED", message: stopped });
    giveToken();
    await stopping;
    // Anything the stopped client sent would reach the server before this other client's requests.
    const other = new HubConnection(url, { transports: [transport], reconnect: false });
    await other.start();
    await other.stop();
    expect(transportRequests).toEqual([]);
  });

  it("while negotiating: start() rejects and no transport is opened", async () => {
    await startServer();
    const connection = new HubConnection(url, { transports: [transport], headers: { "x-test-client": "stopped" } });
    let connected = 0;
    lifecycle.connected = () => connected++;
    const transportRequests: string[] = [];
    const record = (request: IncomingMessage) => {
      if (request.url?.includes("id=") && request.headers["x-test-client"] === "stopped") transportRequests.push(request.url);
    };
    http!.on("upgrade", record);
    http!.on("request", record);

    const starting = connection.start();
    const stopping = connection.stop();
    await expect(starting).rejects.toMatchObject({ code: "ERR_CANCELED", message: stopped });
    await stopping;
    expect(connection.state).toBe("Disconnected");
    // Anything the stopped client sent would reach the server before this other client's requests.
    expect(connected).toBe(0);
    const other = new HubConnection(url, { transports: ["LongPolling"], reconnect: false });
    await other.start();
    await other.stop();
    expect(transportRequests).toEqual([]);
  });
});

