import { afterEach, describe, expect, it } from "vitest";
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "signalr-11";
import { HubServer, silentLogger, type AuthenticationRefresh, type HubOptions } from "../../src/index.js";
import { RS, send } from "../http-transports/http-client.js";
import { recordingLogger } from "../support/chat-servers.js";
import { adminPolicy, aliceMultiplexer, authenticateTestToken, bearer, disconnects, endGuardedTest, GuardedHub, guardedLog, negotiateAs, noPromotion, startGuardedServer, token } from "./guarded-hub.js";

// acceptAuthenticationRefresh (ASP.NET Core 11's OnAuthenticationRefresh): the hub decides whether
// a later request's fresh authentication of the connection's user may change it.

describe("acceptAuthenticationRefresh", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await endGuardedTest(client, server);
    client = server = undefined;
  });

  async function start(hubOptions: HubOptions, logger = recordingLogger()): Promise<string> {
    let url: string;
    ({ server, url } = await startGuardedServer({ logger }, { authenticationRefresh: true, ...hubOptions }));
    return url;
  }

  it("refuses a refresh it says no to with 403 permission_change_rejected, and the connection keeps its user", async () => {
    const asked: AuthenticationRefresh[] = [];
    const url = await start({ acceptAuthenticationRefresh: (refresh) => (asked.push(refresh), noPromotion(refresh)) });
    let role = "user";
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token("alice", { role, expiresAt: Date.now() + 60_000 }) })
      .configureLogging(LogLevel.None)
      .build();
    await client.start();
    role = "admin";
    await expect(client.refreshAuthentication()).rejects.toThrow(/403/);
    await expect(client.invoke("Restart")).rejects.toThrow(); // still alice the user
    role = "user"; // the same user, a later end: taken
    expect([59, 60]).toContain(await client.refreshAuthentication());
    expect(await client.invoke("Whoami")).toBe("alice");
    expect(asked).toHaveLength(2);
    expect(asked[0]).toMatchObject({ connectionId: client.connectionId, previousUser: { sub: "alice", role: "user" }, user: { sub: "alice", role: "admin" } });
    expect(asked[0]!.expiresAt).toBeGreaterThan(Date.now());
    expect(asked[0]!.request.path).toBe(new URL(`${url}/refresh`).pathname);
  });

  it("is asked only where a running connection's authentication would change", async () => {
    let asked = 0;
    const url = await start({ acceptAuthenticationRefresh: (refresh) => (asked++, noPromotion(refresh)) });
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const connectionToken = await negotiateAs(url, alice);
    const refresh = async (accessToken: string) => {
      const reply = await send(`${url}/refresh`, "POST", { headers: { "X-SignalR-Connection-Token": connectionToken, ...bearer(accessToken) } });
      return [reply.status, reply.status === 200 ? "ok" : (JSON.parse(reply.text) as { error: string }).error];
    };
    expect(await refresh(token("alice", { role: "admin" }))).toEqual([200, "ok"]); // not started: nothing to change yet
    const pollUrl = `${url}?id=${connectionToken}`;
    expect((await send(pollUrl, "GET", { headers: bearer(alice) })).status).toBe(200);
    expect(await refresh(alice)).toEqual([200, "ok"]); // the same token: nothing changes
    expect(asked).toBe(0);
    expect(await refresh(token("alice", { expiresAt: Date.now() + 120_000 }))).toEqual([200, "ok"]);
    expect(await refresh(token("alice", { role: "admin", expiresAt: Date.now() + 120_000 }))).toEqual([403, "permission_change_rejected"]);
    expect(asked).toBe(2);
    await send(pollUrl, "DELETE", { headers: bearer(alice) });
  });

  it("ends a long-polling connection whose poll brings a fresh authentication it refuses", async () => {
    const url = await start({ acceptAuthenticationRefresh: noPromotion });
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const pollUrl = `${url}?id=${await negotiateAs(url, alice)}`;
    expect((await send(pollUrl, "GET", { headers: bearer(alice) })).status).toBe(200);
    const answered = send(pollUrl, "GET", { headers: bearer(alice) });
    await send(pollUrl, "POST", { headers: bearer(alice), body: `{"protocol":"json","version":1}${RS}` });
    expect((await answered).text).toBe(`{}${RS}`);
    const promoted = await send(pollUrl, "GET", { headers: bearer(token("alice", { role: "admin", expiresAt: Date.now() + 60_000 })) });
    expect([promoted.status, (JSON.parse(promoted.text) as { error: string }).error]).toEqual([403, "permission_change_rejected"]);
    await disconnects(1);
    expect(guardedLog.disconnects[0]).toMatchObject({ code: "ERR_AUTHENTICATION_REFRESH_REJECTED" });
  });

  it("refuses, and logs, when it throws", async () => {
    const logger = recordingLogger();
    const url = await start(
      {
        acceptAuthenticationRefresh: () => {
          throw new Error("the policy store is away");
        },
      },
      logger,
    );
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token("alice", { expiresAt: Date.now() + 60_000 }) })
      .configureLogging(LogLevel.None)
      .build();
    await client.start();
    await expect(client.refreshAuthentication()).rejects.toThrow(/403/);
    const line = logger.lines.find((l) => l.message.startsWith("acceptAuthenticationRefresh threw"));
    expect(line?.fields).toMatchObject({ hub: "GuardedHub", error: { message: "the policy store is away" } });
    expect(await client.invoke("Whoami")).toBe("alice");
  });

  it("refuses a multiplexed connection's refresh where one of its hubs says no, and no hub changes", async () => {
    server = new HubServer({ logger: silentLogger, policies: adminPolicy, closeTimeout: 200 });
    server.mapHub("/guarded", GuardedHub, { authenticate: authenticateTestToken, acceptAuthenticationRefresh: noPromotion });
    server.mapHub("/guarded-too", GuardedHub, { authenticate: authenticateTestToken });
    server.mapMultiplexer("/hubs", { authenticationRefresh: true });
    const { url } = await server.listen();
    let role = "user";
    const hubs = aliceMultiplexer(`${url}/hubs`, () => role);
    try {
      const [first, second] = [hubs.hub("/guarded"), hubs.hub("/guarded-too")];
      await Promise.all([first.start(), second.start()]);
      role = "admin";
      await expect(hubs.refreshAuthentication()).rejects.toMatchObject({ code: "ERR_UNAUTHORIZED", statusCode: 403 });
      await expect(second.invoke("Restart")).rejects.toThrow(); // the other hub did not take it either
      expect(await first.invoke("Whoami")).toBe("alice");
    } finally {
      await hubs.stop();
    }
  });
});
