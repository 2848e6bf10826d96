import { HubConnectionBuilder, HttpTransportType, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, type HubServer } from "../../src/index.js";
import { serversOnRedis } from "../support/redis-servers.js";
import { userOfToken } from "../support/token-user.js";
import { waitFor, within } from "../support/wait.js";

// HubContext.connections across servers: a close made on one server reaches the connections of
// its target on every other, after the sends made before it.

interface DoorClient {
  notice(n: number): void;
}

const ended: string[] = [];

@HubClass()
class ClusterDoorHub extends Hub<DoorClient> {
  override onDisconnected(): void {
    ended.push(this.context.userIdentifier ?? "");
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }
}

describe("closing connections across servers", () => {
  let servers: HubServer[] = [];
  let clients: HubConnection[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await Promise.all(servers.map((server) => server.close()));
    [clients, servers] = [[], []];
    ended.length = 0;
  });

  /** Two servers on one Redis. */
  async function startTwo(): Promise<string[]> {
    const started = await serversOnRedis(2, (server) => server.mapHub("/door", ClusterDoorHub, { authenticate: userOfToken }));
    servers = started.servers;
    return started.urls.map((url) => `${url}/door`);
  }

  async function connect(url: string, user: string): Promise<{ client: HubConnection; closed: Promise<Error | undefined> }> {
    const client = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => user }).configureLogging(LogLevel.None).build();
    const closed = new Promise<Error | undefined>((resolve) => client.onclose(resolve));
    clients.push(client);
    await client.start();
    return { client, closed };
  }

  it("closes a user's connections on another server, after every send made there before", async () => {
    const [, second] = await startTwo();
    const ada = await connect(second!, "ada");
    const bob = await connect(second!, "bob");
    const notices: number[] = [];
    ada.client.on("notice", (n: number) => notices.push(n));

    const context = servers[0]!.hubContext(ClusterDoorHub);
    for (let n = 1; n <= 200; n++) void context.clients.user("ada").notice(n);
    await context.connections.closeUser("ada", { error: "Signed out." });
    expect((await within(ada.closed, "ada's client to close"))?.message).toContain("Signed out.");
    expect(notices).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await waitFor(() => ended.includes("ada"), "onDisconnected on the server that held it");
    expect(await bob.client.invoke("Id")).toBe(bob.client.connectionId);
  });

  it("closes one connection and a group's members wherever they are", async () => {
    const [first, second] = await startTwo();
    const carol = await connect(first!, "carol");
    const dave = await connect(second!, "dave");
    const erin = await connect(second!, "erin");
    await carol.client.invoke("Join", "room");
    await dave.client.invoke("Join", "room");

    await servers[1]!.hubContext(ClusterDoorHub).connections.closeGroup("room");
    await within(carol.closed, "the member on the other server to close");
    await within(dave.closed, "the member on this server to close");

    await servers[0]!.hubContext(ClusterDoorHub).connections.close(erin.client.connectionId!, { error: "Bye." });
    expect((await within(erin.closed, "the one connection to close"))?.message).toContain("Bye.");
    await waitFor(() => servers.every((server) => server.connectionCount === 0), "no connection to be left");
  });
});
