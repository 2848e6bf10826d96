import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, type HubContext, type HubServer } from "../../src/index.js";
import { serversOnRedis } from "../support/redis-servers.js";
import { waitFor } from "../support/wait.js";

// One hub class mapped at two paths is two hubs, each with its own connections, groups and users,
// on one server as on several: over the backplane, the two share neither sends nor the answers
// of client results and group changes asked across servers.

interface EchoClient {
  heard(text: string): void;
  answer(): Promise<number>;
}

@HubClass()
class PathHub extends Hub<EchoClient> {
  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }
}

describe("one hub class mapped at two paths, on servers sharing a backplane", () => {
  let servers: HubServer[] = [];
  let clients: HubConnection[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await Promise.all(servers.map((server) => server.close()));
    [clients, servers] = [[], []];
  });

  async function client(url: string, answer: number): Promise<{ connection: HubConnection; heard: string[] }> {
    const connection = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets, skipNegotiation: true }).configureLogging(LogLevel.None).build();
    const heard: string[] = [];
    connection.on("heard", (text: string) => heard.push(text));
    connection.on("answer", () => answer);
    clients.push(connection);
    await connection.start();
    return { connection, heard };
  }

  it("answers a client result asked on another server, and sends to all of one path only", async () => {
    const started = await serversOnRedis(2, (server) => {
      server.mapHub("/v1", PathHub);
      server.mapHub("/v2", PathHub);
    });
    servers = started.servers;
    const [first] = started.urls;
    // On server 0: one client of each path.
    const v1 = await client(`${first}/v1`, 1);
    const v2 = await client(`${first}/v2`, 2);
    const v1Id = await v1.connection.invoke<string>("Id");
    const v2Id = await v2.connection.invoke<string>("Id");

    // Asked on server 1, which holds neither: each path's client answers for its own hub.
    const there = servers[1]!.hubContext(PathHub); // the first path's
    expect(await there.clients.client(v1Id).invoke("answer")).toBe(1);
    const secondPath = servers[1]!.hubRuntimeAt("/v2")!.context as HubContext<EchoClient>;
    expect(await secondPath.clients.client(v2Id).invoke("answer")).toBe(2);

    // A send to all of one path from server 1 reaches that path's client only. The last sends
    // go out after the first from the same server: once they are in, a stray copy would be too.
    await there.clients.all.heard("to v1");
    await secondPath.clients.all.heard("to v2");
    await there.clients.all.heard("end");
    await secondPath.clients.all.heard("end");
    await waitFor(() => v1.heard.includes("end") && v2.heard.includes("end"), "the last send of each path to arrive");
    expect([v1.heard, v2.heard]).toEqual([
      ["to v1", "end"],
      ["to v2", "end"],
    ]);
  });
});
