import { afterEach, describe, expect, it } from "vitest";
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection as OfficialConnection } from "signalr-11";
import { HubConnection as HubwireConnection, silentLogger } from "../../client/index.js";
import { Authorize, Hub, HubClass, HubMethod, HubServer, type HubFilter, type HubServerOptions } from "../../src/index.js";
import { adminPolicy, aliceMultiplexer, authenticateTestToken, bearer, negotiateAs, token } from "../abuse/guarded-hub.js";
import { send, RS } from "../http-transports/http-client.js";
import { recordingLogger } from "../support/chat-servers.js";
import { waitFor } from "../support/wait.js";
import { startSdk } from "../telemetry/otel-sdk.js";

/** What RefreshedHub's onAuthenticationRefreshed saw, as `<user id> <role>`; `failNext` makes the next one throw. */
const seen: string[] = [];
let failNext = false;

/** A hub that notes each refresh of its connections' authentication, and whose Restart needs an admin. */
@HubClass()
@Authorize()
class RefreshedHub extends Hub {
  override onAuthenticationRefreshed(): void {
    seen.push(`${this.context.userIdentifier} ${(this.context.user as { role: string }).role}`);
    if (failNext) {
      failNext = false;
      throw new Error("the audit log is away");
    }
  }

  @HubMethod("Restart")
  @Authorize("admin")
  restart(): string {
    return "restarted";
  }
}

describe("a hub's onAuthenticationRefreshed (ASP.NET Core 11's OnAuthenticationRefreshedAsync)", () => {
  let server: HubServer | undefined;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
    await server?.close();
    server = undefined;
    seen.length = 0;
    failNext = false;
  });

  /** RefreshedHub at /refreshed (and /refreshed-too), refresh on, a multiplexer at /hubs; the server's URL. */
  async function start(options: HubServerOptions = {}): Promise<string> {
    server = new HubServer({ logger: silentLogger, policies: adminPolicy, closeTimeout: 200, ...options });
    for (const path of ["/refreshed", "/refreshed-too"]) server.mapHub(path, RefreshedHub, { authenticate: authenticateTestToken, authenticationRefresh: true });
    server.mapMultiplexer("/hubs", { authenticationRefresh: true });
    return (await server.listen()).url;
  }

  /** The official client 11 over WebSockets, whose tokens are alice's with the role `role()` names. */
  async function official(url: string, role: () => string): Promise<OfficialConnection> {
    const client = new HubConnectionBuilder()
      .withUrl(`${url}/refreshed`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token("alice", { role: role(), expiresAt: Date.now() + 60_000 }) })
      .configureLogging(LogLevel.None)
      .build();
    stops.push(() => client.stop());
    await client.start();
    return client;
  }

  it("runs after an authentication refresh, with the fresh user, through the filters", async () => {
    const order: string[] = [];
    const filter: HubFilter = {
      async onAuthenticationRefreshed(context, next) {
        order.push(`filter ${(context.context.user as { role: string }).role}`);
        await next(context);
      },
    };
    const url = await start({ filters: [filter] });
    let role = "user";
    const client = await official(url, () => role);
    await expect(client.invoke("Restart")).rejects.toThrow();
    expect(seen).toEqual([]); // not at connect: that is onConnected's

    role = "admin"; // the same user, promoted: the fresh token says so
    await client.refreshAuthentication();
    await waitFor(() => seen.length === 1, "onAuthenticationRefreshed");
    expect(seen).toEqual(["alice admin"]);
    expect(order).toEqual(["filter admin"]);
    expect(await client.invoke("Restart")).toBe("restarted");
  });

  it("runs when a long poll or a send brings a token with another end, and not for the same token", async () => {
    const url = `${await start()}/refreshed`;
    const first = token("alice", { expiresAt: Date.now() + 60_000 });
    const pollUrl = `${url}?id=${await negotiateAs(url, first)}`;
    expect((await send(pollUrl, "GET", { headers: bearer(first) })).status).toBe(200);
    const handshake = send(pollUrl, "GET", { headers: bearer(first) }); // answered with the handshake's reply
    await send(pollUrl, "POST", { headers: bearer(first), body: `{"protocol":"json","version":1}${RS}` });
    expect((await handshake).text).toBe(`{}${RS}`);
    // A ping with the same token, then one with a token that ends later: only the second refreshes.
    await send(pollUrl, "POST", { headers: bearer(first), body: `{"type":6}${RS}` });
    await send(pollUrl, "POST", { headers: bearer(token("alice", { expiresAt: Date.now() + 120_000 })), body: `{"type":6}${RS}` });
    await waitFor(() => seen.length === 1, "onAuthenticationRefreshed");
    const poll = send(pollUrl, "GET", { headers: bearer(token("alice", { expiresAt: Date.now() + 180_000 })) });
    await waitFor(() => seen.length === 2, "onAuthenticationRefreshed of the poll");
    expect(seen).toEqual(["alice user", "alice user"]);
    await send(pollUrl, "DELETE", { headers: bearer(first) });
    expect((await poll).status).toBe(204);
  });

  it("logs what it throws, and the connection goes on with the fresh user", async () => {
    const logger = recordingLogger();
    const url = await start({ logger });
    let role = "user";
    const client = await official(url, () => role);
    failNext = true;
    role = "admin";
    await client.refreshAuthentication();
    await waitFor(() => logger.lines.some((line) => line.message === "onAuthenticationRefreshed threw"), "the log line");
    const line = logger.lines.find((l) => l.message === "onAuthenticationRefreshed threw")!;
    expect(line.fields).toMatchObject({ hub: "RefreshedHub", error: { message: "the audit log is away" } });
    expect(await client.invoke("Restart")).toBe("restarted");
  });

  it("runs for each hub of a multiplexed connection whose authentication is refreshed", async () => {
    const url = await start();
    let role = "user";
    const hubs = aliceMultiplexer(`${url}/hubs`, () => role);
    stops.push(() => hubs.stop());
    const first = hubs.hub("/refreshed");
    const second = hubs.hub("/refreshed-too");
    await Promise.all([first.start(), second.start()]);
    role = "admin";
    await hubs.refreshAuthentication();
    await waitFor(() => seen.length === 2, "both hubs' onAuthenticationRefreshed");
    expect(seen).toEqual(["alice admin", "alice admin"]);
    expect(await second.invoke("Restart")).toBe("restarted");
  });

  it("is traced as ASP.NET Core traces it: {hub}/OnAuthenticationRefreshedAsync", async () => {
    const sdk = startSdk();
    stops.push(() => sdk.shutdown());
    const url = await start({ telemetry: { meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider } });
    const client = new HubwireConnection(`${url}/refreshed`, { reconnect: false, logger: silentLogger, accessTokenFactory: () => token("alice", { expiresAt: Date.now() + 60_000 }) });
    stops.push(() => client.stop());
    await client.start();
    await client.refreshAuthentication();
    const name = "RefreshedHub/OnAuthenticationRefreshedAsync";
    await waitFor(() => sdk.spans.getFinishedSpans().some((span) => span.name === name), "the span");
    const span = sdk.spans.getFinishedSpans().find((s) => s.name === name)!;
    expect(span.attributes).toEqual({ "rpc.system": "signalr", "rpc.service": "RefreshedHub", "rpc.method": "OnAuthenticationRefreshedAsync" });
  });
});
