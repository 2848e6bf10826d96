import { afterEach, describe, expect, it } from "vitest";
import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from "signalr-11";
import type { HubOptions, HubServer } from "../../src/index.js";
import { send } from "../http-transports/http-client.js";
import { reach, waitFor } from "../support/wait.js";
import { bearer, endGuardedTest, negotiateAs, OpenHub, startOpenServer, token } from "./guarded-hub.js";

// SignalR 11: a long poll authenticated as another user than its connection's, whose
// authentication ends no sooner (an ended token, read as no user), is answered 409
// `authentication_refresh_required` where the hub serves refreshes: the client refreshes the
// connection's authentication and polls again. ASP.NET Core 11 answers the same polls the same way
// (test/reference/aspnetcore-11-refresh.test.ts).

describe("a long poll that must wait for an authentication refresh (SignalR 11)", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await endGuardedTest(client, server);
    client = server = undefined;
  });

  async function start(hubOptions: HubOptions = {}): Promise<string> {
    let url: string;
    ({ server, url } = await startOpenServer(hubOptions));
    return url;
  }

  /** What the hub answers each poll of alice's long-polling connection (token ending in a minute). */
  async function pollScript(url: string): Promise<unknown[]> {
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const pollUrl = `${url}?id=${await negotiateAs(url, alice)}`;
    const poll = async (headers: Record<string, string>) => {
      const reply = await send(pollUrl, "GET", { headers });
      const json = String(reply.headers["content-type"]).startsWith("application/json");
      return json ? [reply.status, (JSON.parse(reply.text) as { error: string }).error] : [reply.status];
    };
    const script = [
      await poll(bearer(alice)),
      await poll(bearer(token("mallory", { expiresAt: Date.now() + 120_000 }))),
      await poll(bearer(token("mallory"))),
      await poll(bearer(token("mallory", { expiresAt: Date.now() + 30_000 }))),
      await poll(bearer(token("alice", { expiresAt: Date.now() - 1_000 }))),
      await poll({}),
    ];
    await send(pollUrl, "DELETE", { headers: bearer(alice) });
    return script;
  }

  it("asks for a refresh when the poll's user's authentication ends no sooner than the connection's, and refuses it otherwise", async () => {
    const url = await start({ authenticationRefresh: true });
    expect(await pollScript(url)).toEqual([
      [200], // the first poll: the connection is alice's
      [409, "authentication_refresh_required"], // mallory, ending later
      [409, "authentication_refresh_required"], // mallory, never ending
      [403], // mallory, ending sooner: refused, as a user who is not the connection's
      [409, "authentication_refresh_required"], // alice's ended token: no user, never ending
      [409, "authentication_refresh_required"], // no token: no user
    ]);
  });

  it("refuses such a poll where the hub serves no refresh", async () => {
    const url = await start();
    expect(await pollScript(url)).toEqual([[200], [403], [403], [403], [403], [403]]);
  });

  it("keeps the official client's long polling going after the token it polls with has ended: it refreshes when asked", async () => {
    // A hub whose connections outlive their tokens (ASP.NET Core's default).
    const url = await start({ authenticationRefresh: true, closeOnAuthenticationExpiration: false });
    let expiresAt = 0;
    let made = 0;
    const next = () => {
      made++;
      return token("alice", { expiresAt: (expiresAt = Date.now() + 3_000) });
    };
    // No automatic refresh: the client polls with the token it got at negotiate until asked.
    client = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.LongPolling, accessTokenFactory: next })
      .configureLogging(LogLevel.None)
      .build();
    const notices: string[] = [];
    client.on("notice", (text: string) => notices.push(text));
    await client.start();
    await reach(expiresAt + 100);

    // The poll under way ends with the notice; the next one carries the ended token.
    const hub = server!.hubContext(OpenHub);
    await hub.clients.all.notice("one");
    await waitFor(() => notices.length === 1, () => `the first notice (state ${client!.state})`);
    await hub.clients.all.notice("two");
    await waitFor(() => notices.length === 2, () => `the second notice (state ${client!.state})`);
    expect(made).toBeGreaterThanOrEqual(2); // negotiate's token, and a refresh's (more where starting outlasted a token)
    expect(client.state).toBe(HubConnectionState.Connected);
    expect(await client.invoke("Whoami")).toBe("alice");
  }, 20_000);
});
