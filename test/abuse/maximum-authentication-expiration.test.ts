import { afterEach, describe, expect, it } from "vitest";
import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from "signalr-11";
import type { HubOptions, HubServer } from "../../src/index.js";
import { send } from "../http-transports/http-client.js";
import { reach } from "../support/wait.js";
import { bearer, endGuardedTest, startGuardedServer, token } from "./guarded-hub.js";

// maximumAuthenticationExpiration (ASP.NET Core 11's MaximumAuthenticationExpiration): no request's
// authentication counts for longer, so a connection is closed, or refreshes, at least that often.
// ASP.NET Core 11 answers the same (test/reference/aspnetcore-11-refresh.test.ts).

describe("maximumAuthenticationExpiration", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await endGuardedTest(client, server);
    client = server = undefined;
  });

  async function start(hubOptions: HubOptions): Promise<string> {
    let url: string;
    ({ server, url } = await startGuardedServer({}, hubOptions));
    return url;
  }

  /** The token lifetime negotiate names for `accessToken`. */
  async function negotiatedLifetime(url: string, accessToken: string): Promise<unknown> {
    const reply = await send(`${url}/negotiate?negotiateVersion=1`, "POST", { headers: bearer(accessToken) });
    return (JSON.parse(reply.text) as { tokenLifetimeSeconds?: number }).tokenLifetimeSeconds;
  }

  it("ends a token without an expiry, or one that ends later, at the maximum; a sooner one keeps its end", async () => {
    const url = await start({ authenticationRefresh: true, maximumAuthenticationExpiration: 60_000 });
    expect([59, 60]).toContain(await negotiatedLifetime(url, token("alice")));
    expect([59, 60]).toContain(await negotiatedLifetime(url, token("alice", { expiresAt: Date.now() + 3_600_000 })));
    // A token's own end counts from when the test made it: less the whole seconds a busy host takes to answer.
    const sooner = await negotiatedLifetime(url, token("alice", { expiresAt: Date.now() + 30_000 }));
    expect(sooner).toBeGreaterThan(25);
    expect(sooner).toBeLessThanOrEqual(30);
  });

  it("closes a connection whose token has no expiry at the maximum, asking its client to come back", async () => {
    const url = await start({ maximumAuthenticationExpiration: 1_500 });
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token("root", { role: "admin" }) })
      .configureLogging(LogLevel.None)
      .build();
    const started = Date.now();
    const closed = new Promise<number>((resolve) => client!.onclose(() => resolve(Date.now())));
    await client.start();
    expect(await closed).toBeGreaterThanOrEqual(started + 1_500);
  });

  it("keeps a refreshing connection past the maximum: each refresh counts for the maximum again", async () => {
    // 6 s at most: negotiate says 5 or 6 (whole seconds, rounded down), refreshed halfway (less
    // than twice the 3 s before the end) and again after each; 3 s to spare on a loaded machine.
    const url = await start({ authenticationRefresh: true, maximumAuthenticationExpiration: 6_000 });
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token("root", { role: "admin" }) })
      .withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 3_000 })
      .configureLogging(LogLevel.None)
      .build();
    const started = Date.now();
    const lifetimes: Array<number | undefined> = [];
    client.onAuthenticationRefreshed((context) => lifetimes.push(context.newTokenLifetimeInSeconds));
    await client.start();
    await reach(started + 7_000);
    expect(client.state).toBe(HubConnectionState.Connected);
    expect(await client.invoke("Restart")).toBe("restarted");
    expect(lifetimes.length).toBeGreaterThan(0);
    expect(lifetimes.every((seconds) => seconds === 5 || seconds === 6)).toBe(true);
  }, 20_000);

  it("is refused when it is not a positive number", async () => {
    await expect(start({ maximumAuthenticationExpiration: 0 })).rejects.toMatchObject({ code: "ERR_INVALID_OPTION" });
  });
});
