import { createServer, Socket, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, type RetryPolicy, type TransportKind } from "../../client/index.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { waitFor } from "../support/wait.js";

const recorded: number[] = [];

@HubClass()
class RecorderHub extends Hub {
  @HubMethod("Record")
  record(n: number): number {
    recorded.push(n);
    return n;
  }
}

/** Retries every 50 ms, for ten seconds. */
const quickRetry: RetryPolicy = { nextDelay: (_attempt, elapsed) => (elapsed > 10_000 ? null : 50) };

/** A TCP proxy the test can cut (sockets destroyed, no close frame) and block. */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private blocked = false;
  /** Connections refused while blocked. */
  refused = 0;
  readonly server: Server;
  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      if (this.blocked) {
        this.refused++;
        client.destroy();
        return;
      }
      const upstream = new Socket();
      upstream.connect(this.targetPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }
  cut(block: boolean): void {
    this.blocked = block;
    for (const socket of this.sockets) socket.destroy();
  }
  unblock(): void {
    this.blocked = false;
  }
  close(): Promise<void> {
    this.cut(true);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function startHubs(port = 0): Promise<{ hubs: HubServer; port: number }> {
  const hubs = new HubServer({ logger: silentLogger, closeTimeout: 500 });
  hubs.mapHub("/recorder", RecorderHub);
  return { hubs, port: (await hubs.listen(port)).port };
}

describe.each([["WebSockets"], ["ServerSentEvents"], ["LongPolling"]] as Array<[TransportKind]>)("reconnecting over %s", (transport) => {
  let hubs: HubServer | undefined;
  let proxy: CuttableProxy | undefined;
  let connection: HubConnection | undefined;
  afterEach(async () => {
    await connection?.stop();
    await proxy?.close();
    await hubs?.close();
    recorded.length = 0;
  });

  it("survives a server restart: events in order, calls made meanwhile delivered once and in order", async () => {
    const first = await startHubs();
    hubs = first.hubs;
    connection = new HubConnection(`http://127.0.0.1:${first.port}/recorder`, { transports: [transport], reconnect: quickRetry });
    const events: string[] = [];
    connection.onReconnecting(() => events.push("reconnecting"));
    connection.onReconnected(() => events.push("reconnected"));
    connection.onClose(() => events.push("close"));
    await connection.start();
    expect(await connection.invoke("Record", 1)).toBe(1);

    await hubs.close(); // tells the client to come back (allowReconnect)
    await waitFor(() => connection!.state === "Reconnecting", "reconnecting");
    const during = [connection.invoke("Record", 2), connection.send("Record", 3), connection.invoke("Record", 4)];
    hubs = (await startHubs(first.port)).hubs;
    expect(await Promise.all(during)).toEqual([2, undefined, 4]);
    expect(recorded).toEqual([1, 2, 3, 4]);
    expect(events).toEqual(["reconnecting", "reconnected"]);
  });

  it("reconnects when the network drops without a word", async () => {
    const started = await startHubs();
    hubs = started.hubs;
    proxy = new CuttableProxy(started.port);
    const proxyPort = await proxy.listen();
    connection = new HubConnection(`http://127.0.0.1:${proxyPort}/recorder`, { transports: [transport], reconnect: quickRetry });
    const events: string[] = [];
    connection.onReconnecting(() => events.push("reconnecting"));
    connection.onReconnected(() => events.push("reconnected"));
    await connection.start();
    await connection.invoke("Record", 1);
    proxy.cut(true); // sockets destroyed, no close frame; new connections refused for now
    await waitFor(() => connection!.state === "Reconnecting", "reconnecting");
    const held = connection.invoke("Record", 2);
    await waitFor(() => proxy!.refused > 0, "a reconnect attempt to be refused");
    proxy.unblock();
    expect(await held).toBe(2);
    expect(recorded).toEqual([1, 2]);
    expect(events).toEqual(["reconnecting", "reconnected"]);
  });
});

describe("reconnect policy", () => {
  let hubs: HubServer | undefined;
  afterEach(() => hubs?.close());

  it("retries the first start until the server is there", async () => {
    const probe = await startHubs();
    const port = probe.port;
    await probe.hubs.close();
    let retries = 0;
    const counted: RetryPolicy = {
      nextDelay(...args) {
        retries++; // asked after each failed attempt
        return quickRetry.nextDelay(...args);
      },
    };
    const connection = new HubConnection(`http://127.0.0.1:${port}/recorder`, { reconnect: counted });
    const starting = connection.start();
    await waitFor(() => retries > 0, "a first attempt to fail");
    hubs = (await startHubs(port)).hubs;
    await starting;
    expect(await connection.invoke("Record", 5)).toBe(5);
    await connection.stop();
  });

  it("gives up when the policy says so, failing held calls", async () => {
    const started = await startHubs();
    hubs = started.hubs;
    const connection = new HubConnection(`http://127.0.0.1:${started.port}/recorder`, {
      transports: ["WebSockets"],
      reconnect: { nextDelay: (attempt) => (attempt > 2 ? null : 20) },
    });
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    await connection.start();
    await hubs.close();
    hubs = undefined;
    await waitFor(() => connection.state === "Reconnecting", "reconnecting");
    const held = connection.invoke("Record", 9);
    await closed;
    await expect(held).rejects.toThrow("Cannot send data if the connection is not in the 'Connected' State.");
    expect(connection.state).toBe("Disconnected");
  });

  it("fails calls at once while reconnecting when buffering is off", async () => {
    const started = await startHubs();
    hubs = started.hubs;
    const connection = new HubConnection(`http://127.0.0.1:${started.port}/recorder`, {
      transports: ["WebSockets"],
      reconnect: quickRetry,
      bufferWhileReconnecting: false,
    });
    await connection.start();
    await hubs.close();
    await waitFor(() => connection.state === "Reconnecting", "reconnecting");
    await expect(connection.invoke("Record", 1)).rejects.toThrow("Cannot send data if the connection is not in the 'Connected' State.");
    hubs = (await startHubs(started.port)).hubs;
    await waitFor(() => connection.state === "Connected", "reconnected");
    await connection.stop();
  });
});
