import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { HubConnection as HubwireConnection, silentLogger as quietClient } from "../../client/index.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubLifetimeManager } from "../../src/index.js";
import { InMemoryLifetimeManager } from "../../src/lifetime/in-memory-lifetime-manager.js";
import { TestHost } from "../../src/testing/index.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { userOfToken } from "../support/token-user.js";
import { waitFor, within } from "../support/wait.js";

// HubContext.connections (and a hub's this.connections): connections ended from anywhere, each
// client told why, and each ended by the server whatever its client does with the Close.

interface DoorClient {
  notice(n: number): void;
}

const ended: Array<{ user: string | undefined; error: string | undefined }> = [];

@HubClass()
class DoorHub extends Hub<DoorClient> {
  override onDisconnected(error?: Error): void {
    ended.push({ user: this.context.userIdentifier, error: error?.message });
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  /** An admin's call: ends every connection of `userId`. */
  @HubMethod("Kick")
  kick(userId: string): Promise<void> {
    return this.connections.closeUser(userId, { error: "Kicked." });
  }
}


describe("closing connections from anywhere", () => {
  let server: HubServer | undefined;
  let url = "";
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
    await server?.close();
    server = undefined;
    ended.length = 0;
  });

  async function start(lifetimeManager?: HubLifetimeManager): Promise<void> {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/door", DoorHub, { authenticate: userOfToken, ...(lifetimeManager ? { lifetimeManager } : {}) });
    url = `${(await server.listen()).url}/door`;
  }

  /** An official client of `user` over `transport`; `closed` settles with the error its onclose got. */
  async function official(user: string, transport = HttpTransportType.WebSockets): Promise<{ client: HubConnection; closed: Promise<Error | undefined> }> {
    const client = new HubConnectionBuilder().withUrl(url, { transport, accessTokenFactory: () => user }).configureLogging(LogLevel.None).build();
    const closed = new Promise<Error | undefined>((resolve) => client.onclose(resolve));
    stops.push(() => client.stop());
    await client.start();
    return { client, closed };
  }

  /** hubwire's client of `user` over long polling. */
  async function hubwire(user: string, reconnect = false): Promise<{ client: HubwireConnection; closed: Promise<Error | undefined> }> {
    const client = new HubwireConnection(url, { transports: ["LongPolling"], reconnect, accessTokenFactory: () => user, logger: quietClient });
    const closed = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
    stops.push(() => client.stop());
    await client.start();
    return { client, closed };
  }

  it("closes every connection of a user, on every transport, telling each client why; the others go on", async () => {
    await start();
    const adaTab = await official("ada");
    const adaPoller = await hubwire("ada");
    const bob = await official("bob", HttpTransportType.ServerSentEvents);

    await server!.hubContext(DoorHub).connections.closeUser("ada", { error: "Signed out." });
    expect((await within(adaTab.closed, "the official client to close"))?.message).toContain("Signed out.");
    expect((await within(adaPoller.closed, "hubwire's client to close"))?.message).toContain("Signed out.");
    await waitFor(() => ended.length === 2, "both connections' onDisconnected");
    expect(ended.map((end) => end.user)).toEqual(["ada", "ada"]);
    expect(await bob.client.invoke("Id")).toBe(bob.client.connectionId);
    await waitFor(() => server!.connectionCount === 1, "only bob's connection to be left");
  });

  it("ends a connection whose client ignores the Close", async () => {
    await start();
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}?access_token=mallory`);
    stops.push(async () => socket.terminate());
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const frames: string[] = [];
    socket.on("message", (data: Buffer) => frames.push(data.toString()));
    const handshake = new Promise((resolve) => socket.once("message", resolve));
    socket.send('{"protocol":"json","version":1}\x1e');
    await within(handshake, "the handshake's answer");
    const closedByServer = new Promise((resolve) => socket.once("close", resolve));

    await server!.hubContext(DoorHub).connections.closeUser("mallory", { error: "Banned." });
    await within(closedByServer, "the server to close the socket");
    expect(frames.at(-1)).toBe('{"type":7,"error":"Banned."}\x1e');
    await waitFor(() => ended.length === 1, "onDisconnected");
  });

  it("closes one connection, a group's, or all; with allowReconnect, hubwire's client comes back as a new connection", async () => {
    await start();
    const ada = await hubwire("ada", true);
    const first = ada.client.connectionId!;
    const reconnected = new Promise<string | null>((resolve) => ada.client.onReconnected(resolve));
    await server!.hubContext(DoorHub).connections.close(first, { allowReconnect: true });
    const second = await within(reconnected, "hubwire's client to reconnect");
    expect(second).not.toBe(first);

    const bob = await official("bob");
    const carol = await official("carol");
    await bob.client.invoke("Join", "room");
    await server!.hubContext(DoorHub).connections.closeGroup("room");
    await within(bob.closed, "the group's member to close");
    expect(await carol.client.invoke("Id")).toBe(carol.client.connectionId);

    await server!.hubContext(DoorHub).connections.closeAll({ error: "Maintenance." });
    expect((await within(carol.closed, "every client to close"))?.message).toContain("Maintenance.");
    await waitFor(() => server!.connectionCount === 0, "no connection to be left");
  });

  it("closes from a hub method, after the sends made before it", async () => {
    await start();
    const ada = await official("ada");
    const notices: number[] = [];
    ada.client.on("notice", (n: number) => notices.push(n));
    const admin = await official("admin");
    const context = server!.hubContext(DoorHub);
    for (let n = 1; n <= 100; n++) void context.clients.user("ada").notice(n);
    await admin.client.invoke("Kick", "ada");
    expect((await within(ada.closed, "the kicked client to close"))?.message).toContain("Kicked.");
    expect(notices).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("ends a stateful connection whose client is away: it cannot resume, and comes back as a new one", async () => {
    server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true });
    server.mapHub("/door", DoorHub, { authenticate: userOfToken });
    const { port } = await server.listen();
    const proxy = await startTcpProxy(port);
    stops.push(() => proxy.close());
    const ada = new HubwireConnection(`${proxy.url}/door`, { transports: ["WebSockets"], statefulReconnect: true, accessTokenFactory: () => "ada", logger: quietClient });
    stops.push(() => ada.stop());
    await ada.start();
    const first = ada.connectionId;
    const session = [...server.hubRuntimeAt("/door")!.sessions.keys()][0]!;
    proxy.refuse(true); // its reattaches fail until the test lets them through
    proxy.cut();
    await waitFor(() => session.state === "suspended", "the server to wait for the client");

    await server.hubContext(DoorHub).connections.closeUser("ada", { error: "Signed out." });
    await waitFor(() => ended.length === 1, "the waiting connection to end");
    const back = new Promise<string | null>((resolve) => ada.onReconnected(resolve));
    proxy.refuse(false);
    expect(await within(back, "the client to come back", 30_000)).not.toBe(first);
  });

  it("closes in the test host as on the network", async () => {
    const host = new TestHost();
    stops.push(() => host.close());
    host.mapHub("/door", DoorHub);
    const ada = await host.connect(DoorHub, { user: { sub: "ada" } });
    const bob = await host.connect(DoorHub, { user: { sub: "bob" } });
    await bob.hub.kick("ada");
    expect((await ada.closed)?.message).toBe("Server returned an error on close: Kicked.");
    expect(ended).toEqual([{ user: "ada", error: undefined }]);
  });

  it("fails with ERR_CLOSE_NOT_SUPPORTED where the lifetime manager cannot close, and closes nothing", async () => {
    const inner = new InMemoryLifetimeManager();
    const { closeConnections: _cannot, ...withoutClose } = Object.fromEntries(
      (["onConnected", "onDisconnected", "send", "addToGroup", "removeFromGroup", "invokeConnection"] as const).map((name) => [name, inner[name].bind(inner)]),
    ) as unknown as HubLifetimeManager;
    await start(withoutClose);
    const ada = await official("ada");
    await expect(server!.hubContext(DoorHub).connections.closeUser("ada")).rejects.toMatchObject({ code: "ERR_CLOSE_NOT_SUPPORTED" });
    expect(await ada.client.invoke("Id")).toBe(ada.client.connectionId);
  });
});
