import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubContext, type HubServerOptions } from "../../src/index.js";
import { HubConnection as HubwireConnection } from "../../client/index.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { expectCanaryAnswered, mapCanaryHub, startCanary } from "./canary-beside.js";
import { Tally } from "./tally.js";

const total = 600;

/** What CountingHub saw: numbered messages from its client, and its connection's life. */
let ups = new Tally();
const life: string[] = [];

interface CountingClient {
  down(n: number): void;
}

@HubClass()
class CountingHub extends Hub<CountingClient> {
  override onConnected(): void {
    life.push("connected");
  }

  override onDisconnected(): void {
    life.push("disconnected");
  }

  @HubMethod("Up")
  up(n: number): void {
    ups.record(n);
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }
}

describe("stateful reconnect after a drop the server does not see", () => {
  let server: HubServer | undefined;
  let proxy: TcpProxy | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await proxy?.close();
    await server?.close();
    client = proxy = server = undefined;
    ups = new Tally();
    life.length = 0;
  });

  async function start(options: HubServerOptions = {}) {
    server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true, ...options });
    server.mapHub("/count", CountingHub);
    mapCanaryHub(server);
    const listening = await server.listen();
    proxy = await startTcpProxy(listening.port);
    const canary = await startCanary(listening.url); // on its own connection, past the proxy's drops
    client = new HubConnectionBuilder()
      .withUrl(`${proxy.url}/count`, { transport: HttpTransportType.WebSockets })
      .withStatefulReconnect()
      .configureLogging(LogLevel.None)
      .build();
    const downs = new Tally();
    client.on("down", (n: number) => downs.record(n));
    const closed = new Promise<Error | undefined>((resolve) => client!.onclose(resolve));
    await client.start();
    return { client, downs, closed, hub: server.hubContext(CountingHub), canary };
  }

  /** Sends messages `from`..`to` both ways without waiting for them to arrive. */
  function exchange(connection: HubConnection, hub: HubContext<CountingClient>, from: number, to: number): Promise<unknown> {
    const sends: Promise<unknown>[] = [];
    for (let n = from; n <= to; n++) {
      sends.push(connection.send("Up", n));
      sends.push(hub.clients.all.down(n));
    }
    return Promise.all(sends);
  }

  /** Every message arrives, or the test fails as soon as the client gives up. */
  async function allArrive(downs: Tally, closed: Promise<Error | undefined>): Promise<void> {
    const gaveUp = closed.then((error) => {
      throw new Error(
        `The client closed (${String(error)}) with ${ups.distinct}/${total} up and ${downs.distinct}/${total} down delivered.`,
      );
    });
    await Promise.race([Promise.all([ups.reached(total), downs.reached(total)]), gaveUp]);
  }

  it(`resumes after a half-open drop: ${total} messages each way, none lost, none twice`, async () => {
    const { client, downs, closed, hub, canary } = await start();
    const id = await client.invoke("Id");
    const first = exchange(client, hub, 1, total / 2);
    // The client's side is gone at once; the server's socket stays open and silent. The client
    // reconnects with its connection token while the server still holds the old socket.
    const { webSocketsClosedByServer, swallowed } = proxy!.halfOpen();
    const second = exchange(client, hub, total / 2 + 1, total);
    await allArrive(downs, closed);
    await Promise.all([first, second]);
    await webSocketsClosedByServer; // the server dropped the old socket when the new one took over
    expect(swallowed.fromServer).toBeGreaterThan(0); // messages were lost on the way and had to be replayed

    expect(ups.duplicates).toBe(0);
    expect(downs.duplicates).toBe(0);
    expect(client.state).toBe(HubConnectionState.Connected);
    expect(await client.invoke("Id")).toBe(id);
    expect(life).toEqual(["connected"]);
    expect(server!.connectionCount).toBe(2); // and the canary's
    await expectCanaryAnswered(canary);
  });

  it(`hubwire's client resumes after a half-open drop too: ${total} messages each way`, async () => {
    server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true });
    server.mapHub("/count", CountingHub);
    mapCanaryHub(server);
    const listening = await server.listen();
    proxy = await startTcpProxy(listening.port);
    const canary = await startCanary(listening.url);
    const own = new HubwireConnection(`${proxy.url}/count`, { transports: ["WebSockets"], statefulReconnect: true, reconnect: false });
    const downs = new Tally();
    own.on("down", (n: number) => downs.record(n));
    const closed = new Promise<Error | undefined>((resolve) => own.onClose(resolve));
    await own.start();
    try {
      const hub = server.hubContext(CountingHub);
      const id = await own.invoke<string>("Id");
      const sends: Promise<unknown>[] = [];
      for (let n = 1; n <= total; n++) {
        if (n === total / 2 + 1) proxy.halfOpen();
        sends.push(own.send("Up", n), hub.clients.all.down(n));
      }
      await allArrive(downs, closed);
      await Promise.all(sends);
      expect(ups.duplicates).toBe(0);
      expect(downs.duplicates).toBe(0);
      expect(await own.invoke("Id")).toBe(id);
      expect(life).toEqual(["connected"]);
      await expectCanaryAnswered(canary);
    } finally {
      await own.stop();
    }
  });

  it(`resumes after a WebSocket dies without a close frame on either side: ${total} messages each way`, async () => {
    // The server notices the silence first (its client timeout) and waits for its client; the
    // client notices later (its network stack gives up on the socket) and comes back.
    const { client, downs, closed, hub, canary } = await start({ clientTimeoutInterval: 600, keepAliveInterval: 200 });
    const id = await client.invoke("Id");
    const first = exchange(client, hub, 1, total / 2);
    const hole = proxy!.blackHole();
    const second = exchange(client, hub, total / 2 + 1, total);
    await hole.webSocketsClosedByServer; // the server gave up on the silent socket, not on the connection
    hole.resetClients();
    await allArrive(downs, closed);
    await Promise.all([first, second]);

    // Both sides lost messages in the hole, and both got them again after the reconnect.
    expect(hole.swallowed.fromClients).toBeGreaterThan(0);
    expect(hole.swallowed.fromServer).toBeGreaterThan(0);
    expect(ups.duplicates).toBe(0);
    expect(downs.duplicates).toBe(0);
    expect(client.state).toBe(HubConnectionState.Connected);
    expect(await client.invoke("Id")).toBe(id);
    expect(life).toEqual(["connected"]);
    await expectCanaryAnswered(canary);
  });
});
