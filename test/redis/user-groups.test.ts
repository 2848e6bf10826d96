import { HttpTransportType, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import type { HubServer } from "../../src/index.js";
import { serversOnRedis } from "../support/redis-servers.js";
import { TeamHub, teamMember } from "../support/team-hub.js";
import { userOfToken } from "../support/token-user.js";
import { waitFor } from "../support/wait.js";

// GroupManager.addUserToGroup across servers: every connection of the user, wherever it is,
// is in the group once the call resolves. ConnectionManager.ofUser and ofGroup name them.

describe("a user's connections joining a group across servers", () => {
  let servers: HubServer[] = [];
  let clients: HubConnection[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await Promise.all(servers.map((server) => server.close()));
    [clients, servers] = [[], []];
  });

  /** Two servers on one Redis, once each hears the other. */
  async function startTwo(): Promise<string[]> {
    const started = await serversOnRedis(2, (server) => server.mapHub("/team", TeamHub, { authenticate: userOfToken }), {
      scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000 },
    });
    servers = started.servers;
    const urls = started.urls.map((url) => `${url}/team`);
    const peers = (server: HubServer) => (server as unknown as { scaleOut: { managers: Array<{ peers: { count: number } }> } }).scaleOut.managers[0]!.peers.count;
    await waitFor(() => servers.every((server) => peers(server) === 1), "the servers to hear each other");
    return urls;
  }

  /** A client of `user`; what it is told. */
  const connect = (url: string, user: string, transport: HttpTransportType, messagePack = false) => teamMember(clients, url, user, transport, messagePack);

  it("adds the user's connections on both servers, so that the next group send reaches each; removes them as one", async () => {
    const [first, second] = await startTwo();
    const adaHere = await connect(first!, "ada", HttpTransportType.WebSockets);
    const adaThere = await connect(second!, "ada", HttpTransportType.LongPolling, true);
    const adaThereToo = await connect(second!, "ada", HttpTransportType.ServerSentEvents);
    const bob = await connect(second!, "bob", HttpTransportType.WebSockets);
    const team = servers[0]!.hubContext(TeamHub);
    expect((await team.connections.ofUser("ada")).sort()).toEqual(clients.slice(0, 3).map((client) => client.connectionId).sort());

    await clients[3]!.invoke("Enrol", "ada", "blue"); // bob's call, on the second server
    expect((await team.connections.ofGroup("blue")).sort()).toEqual(clients.slice(0, 3).map((client) => client.connectionId).sort());
    await team.clients.group("blue").news("welcome");
    await team.clients.user("bob").news("for bob");
    for (const news of [adaHere, adaThere, adaThereToo]) await waitFor(() => news.includes("welcome"), "every tab of ada to hear the team");
    await waitFor(() => bob.includes("for bob"), "bob's own message");
    expect(bob).toEqual(["for bob"]);

    await team.groups.removeUserFromGroup("ada", "blue");
    expect(await team.connections.ofGroup("blue")).toEqual([]);
    await team.clients.group("blue").news("members only");
    await team.clients.user("ada").news("to ada");
    for (const news of [adaHere, adaThere, adaThereToo]) await waitFor(() => news.includes("to ada"), "every tab of ada to hear its own message");
    for (const news of [adaHere, adaThere, adaThereToo]) expect(news).toEqual(["welcome", "to ada"]);
  });
});
