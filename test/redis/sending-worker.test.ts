import { HttpTransportType, type HubConnection } from "@microsoft/signalr";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { HubServer, silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { TeamHub, teamMember } from "../support/team-hub.js";
import { userOfToken } from "../support/token-user.js";
import { waitFor } from "../support/wait.js";

// A process that serves no clients (a worker, a scheduled job, a queue's consumer) sends to the
// clients of a cluster through the backplane: a HubServer that maps the hub and never listens.

describe("a process that serves no clients sends through the backplane", () => {
  let servers: HubServer[] = [];
  let clients: HubConnection[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await Promise.all(servers.map((server) => server.close()));
    [clients, servers] = [[], []];
  });

  /** A server of the cluster under `channelPrefix`, its hub mapped; the caller listens or not. */
  function member(channelPrefix: string): HubServer {
    const server = new HubServer({
      logger: silentLogger,
      backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }),
      scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000 },
    });
    servers.push(server);
    return server;
  }

  /** One listening server with ada connected over each transport; what each of her tabs hears. */
  async function clusterWithAda(channelPrefix: string): Promise<string[][]> {
    const server = member(channelPrefix);
    server.mapHub("/team", TeamHub, { authenticate: userOfToken });
    const { url } = await server.listen();
    const transports = [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling];
    return Promise.all(transports.map((transport) => teamMember(clients, `${url}/team`, "ada", transport)));
  }

  it("reaches all, a user, a connection and a user's group, and finds a user's connections", async () => {
    const channelPrefix = `test-${randomUUID()}`;
    const tabs = await clusterWithAda(channelPrefix);
    const team = member(channelPrefix).mapHub("/team", TeamHub); // never listens
    await team.clients.all.news("all");
    await team.clients.user("ada").news("user");
    await team.clients.client(clients[1]!.connectionId!).news("one tab");
    expect((await team.connections.ofUser("ada")).sort()).toEqual(clients.map((client) => client.connectionId).sort());
    await team.groups.addUserToGroup("ada", "blue");
    await team.clients.group("blue").news("group");
    for (const [i, news] of tabs.entries()) {
      const expected = i === 1 ? ["all", "user", "one tab", "group"] : ["all", "user", "group"];
      await waitFor(() => news.length === expected.length, () => `tab ${i} to hear ${expected.join(", ")}; heard ${news.join(", ")}`);
      expect(news).toEqual(expected);
    }
  });

  it("a send resolved before close() is delivered, from a process that sends and closes at once: none lost, none doubled, in order", async () => {
    const channelPrefix = `test-${randomUUID()}`;
    const tabs = await clusterWithAda(channelPrefix);
    const expected: string[] = [];
    for (let run = 0; run < 3; run++) {
      // A fresh process each time: its link to Redis is not even up when it sends.
      const worker = member(channelPrefix);
      const team = worker.mapHub("/team", TeamHub);
      // More than the outbox hands to the backplane at once (256), so that some still wait in it.
      for (let i = 0; i < 400; i++) {
        const text = `${run}.${i}`;
        expected.push(text);
        await (i % 2 === 0 ? team.clients.all.news(text) : team.clients.user("ada").news(text));
      }
      await worker.close();
    }
    for (const [i, news] of tabs.entries()) {
      await waitFor(() => news.length >= expected.length, () => `tab ${i} to hear ${expected.length} messages; heard ${news.length}`, 30_000);
      expect(news).toEqual(expected);
    }
  }, 40_000);
});
