import { afterEach, describe, expect, it } from "vitest";
import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from "signalr-11";
import type { HubOptions, HubServer } from "../../src/index.js";
import { RS, send } from "../http-transports/http-client.js";
import { reach } from "../support/wait.js";
import { bearer, endGuardedTest, freshAdminTokens, negotiateAs, startGuardedServer, token } from "./guarded-hub.js";

describe("authentication refresh (SignalR 11), with the official client 11", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await endGuardedTest(client, server);
    client = server = undefined;
  });

  async function start(hubOptions: HubOptions = {}): Promise<string> {
    let url: string;
    ({ server, url } = await startGuardedServer({}, { authenticationRefresh: true, ...hubOptions }));
    return url;
  }

  it("keeps a WebSocket connection past its first token's expiry: the client refreshes before it, as negotiate told it", async () => {
    const url = await start();
    // The token lasts 6 s (negotiate says 5, in whole seconds); the client refreshes 4 s before
    // the end, so after 2.5 s, and again after each refresh: the connection would close at 6 s.
    const { made, next } = freshAdminTokens(6_000);
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: next })
      .withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 4_000 })
      .configureLogging(LogLevel.None)
      .build();
    const lifetimes: Array<number | undefined> = [];
    client.onAuthenticationRefreshed((context) => lifetimes.push(context.newTokenLifetimeInSeconds));
    await client.start();
    // The token of the WebSocket's upgrade, the connection's until a refresh replaces it.
    await reach(made.lastExpiresAt);
    expect(client.state).toBe(HubConnectionState.Connected);
    // @Authorize with the admin policy: the connection's user is the fresh token's, not expired.
    expect(await client.invoke("Restart")).toBe("restarted");
    expect(lifetimes.length).toBeGreaterThan(0);
    expect(lifetimes.every((seconds) => seconds !== undefined && seconds >= 4 && seconds <= 6)).toBe(true);
    expect(made.count).toBeGreaterThan(lifetimes.length); // a fresh one for each refresh
  }, 30_000);

  it("keeps the later end when a refresh brings a token that ends sooner, as ASP.NET Core 11 does", async () => {
    const url = await start();
    const firstEnd = Date.now() + 4_000;
    let expiresAt = firstEnd;
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token("root", { role: "admin", expiresAt }) })
      .configureLogging(LogLevel.None)
      .build();
    const closed = new Promise<number>((resolve) => client!.onclose(() => resolve(Date.now())));
    await client.start();
    expiresAt = Date.now() + 1_800;
    expect(await client.refreshAuthentication()).toBe(1); // the token's own lifetime, in whole seconds
    expect(await closed).toBeGreaterThanOrEqual(firstEnd);
  });

  it("keeps the later end when a send set out with a token that ends sooner", async () => {
    const url = await start();
    const firstEnd = Date.now() + 3_000;
    const first = token("root", { role: "admin", expiresAt: firstEnd });
    const pollUrl = `${url}?id=${await negotiateAs(url, first)}`;
    expect((await send(pollUrl, "GET", { headers: bearer(first) })).status).toBe(200);
    const answered = send(pollUrl, "GET", { headers: bearer(first) });
    await send(pollUrl, "POST", { headers: bearer(first), body: `{"protocol":"json","version":1}${RS}` });
    expect((await answered).text).toBe(`{}${RS}`);
    // The poll under way is answered with the Close that ends the connection, at the first token's end.
    const close = send(pollUrl, "GET", { headers: bearer(first) });
    const ping = await send(pollUrl, "POST", { headers: bearer(token("root", { role: "admin", expiresAt: Date.now() + 500 })), body: `{"type":6}${RS}` });
    expect(ping.status).toBe(200);
    expect((await close).text).toBe(`{"type":7,"allowReconnect":true}${RS}`);
    expect(Date.now()).toBeGreaterThanOrEqual(firstEnd);
  });

  it("refreshes a long-polling connection when asked, and reports the token's lifetime", async () => {
    const url = await start();
    const { next } = freshAdminTokens(60_000);
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.LongPolling, accessTokenFactory: next })
      .configureLogging(LogLevel.None)
      .build();
    await client.start();
    // Whole seconds left of a fresh 60-second token.
    expect([59, 60]).toContain(await client.refreshAuthentication());
    expect(await client.invoke("Restart")).toBe("restarted");
  });

  it("answers refreshes that cannot be served with a status and an error the client can read", async () => {
    const url = await start();
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const connectionToken = await negotiateAs(url, alice);
    const refresh = async (headers: Record<string, string>, query = "") => {
      const reply = await send(`${url}/refresh${query}`, "POST", { headers });
      return [reply.status, reply.status === 200 ? Object.keys(JSON.parse(reply.text) as object) : (JSON.parse(reply.text) as { error: string }).error];
    };
    const named = { "X-SignalR-Connection-Token": connectionToken };

    expect(await refresh({ ...named, ...bearer(alice) })).toEqual([200, ["tokenLifetimeSeconds"]]);
    // The connection token may also come in the query, as in every other request of a connection.
    expect(await refresh(bearer(alice), `?id=${connectionToken}`)).toEqual([200, ["tokenLifetimeSeconds"]]);
    // Another user's token never becomes the connection's; no token is no user, which this hub requires.
    expect(await refresh({ ...named, ...bearer(token("mallory")) })).toEqual([403, "user_changed"]);
    expect(await refresh(named)).toEqual([401, "invalid_token"]);
    expect(await refresh({ "X-SignalR-Connection-Token": "no-such-connection", ...bearer(alice) })).toEqual([404, "connection_not_found"]);
    expect(await refresh(bearer(alice))).toEqual([400, "missing_connection_token"]);
    expect((await send(`${url}/refresh`, "GET", { headers: { ...named, ...bearer(alice) } })).status).toBe(405);
  });

  it("lets a page of an allowed origin refresh: the preflight allows its headers, and the answer names the origin", async () => {
    const origin = "https://app.example";
    const url = await start({ allowedOrigins: [origin] });
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const connectionToken = await negotiateAs(url, alice);
    // A browser asks first: the connection token's header is not one a page may send unasked.
    const preflight = await send(`${url}/refresh`, "OPTIONS", {
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,x-signalr-connection-token,x-requested-with" },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers["access-control-allow-origin"]).toBe(origin);
    expect(preflight.headers["access-control-allow-methods"]).toContain("POST");
    expect(preflight.headers["access-control-allow-headers"]).toContain("x-signalr-connection-token");
    const refreshed = await send(`${url}/refresh`, "POST", { headers: { Origin: origin, "X-SignalR-Connection-Token": connectionToken, ...bearer(alice) } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers["access-control-allow-origin"]).toBe(origin);
    // Another origin is refused, as on every path of the hub.
    const elsewhere = await send(`${url}/refresh`, "POST", { headers: { Origin: "https://elsewhere.example", "X-SignalR-Connection-Token": connectionToken, ...bearer(alice) } });
    expect(elsewhere.status).toBe(403);
  });

  it("is off unless asked for: no refresh endpoint, and negotiate names no token lifetime", async () => {
    let url: string;
    ({ server, url } = await startGuardedServer());
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const negotiated = await send(`${url}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(alice) });
    expect(JSON.parse(negotiated.text)).not.toHaveProperty("tokenLifetimeSeconds");
    const connectionToken = (JSON.parse(negotiated.text) as { connectionToken: string }).connectionToken;
    // Not a path of the hub's: the server's own 404, as for any path it does not serve.
    const reply = await send(`${url}/refresh`, "POST", { headers: { "X-SignalR-Connection-Token": connectionToken, ...bearer(alice) } });
    expect([reply.status, reply.text]).toEqual([404, "Not Found"]);

    // With it on, negotiate says how long the token lasts, in whole seconds.
    await server.close();
    url = await start();
    const withLifetime = await send(`${url}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(token("alice", { expiresAt: Date.now() + 60_000 })) });
    const { tokenLifetimeSeconds } = JSON.parse(withLifetime.text) as { tokenLifetimeSeconds: number };
    // The token's minute, less the whole seconds a busy host takes to make it and answer.
    expect(tokenLifetimeSeconds).toBeGreaterThan(55);
    expect(tokenLifetimeSeconds).toBeLessThanOrEqual(60);
  });
});
